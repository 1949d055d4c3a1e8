// The agent's request bodies, decoded. Moved here from the handlers of agent_routes.cpp without a change of
// behaviour, so that the libFuzzer targets (tests/fuzz) reach them.

#include "api/agent/agent_requests.hpp"

#include "api/http/json_body.hpp"
#include "service/codec/base64.hpp"

namespace certdeploy::api {

Result<InstallInput> install_input(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    auto file_data = string_field(*body, "fileData");
    auto password = secret_field(*body, "password");
    auto exportable = bool_field(*body, "privateKeyExportable");
    auto friendly_name = string_field(*body, "friendlyName");
    if (!file_data || !password || !exportable || !friendly_name) {
        if (!file_data) {
            return file_data.error();
        }
        if (!password) {
            return password.error();
        }
        if (!exportable) {
            return exportable.error();
        }
        return friendly_name.error();
    }
    if (!*file_data) {
        return make_error(ErrorCode::invalid_request, "\"fileData\" (the certificate file, base64) is required");
    }
    auto bytes = codec::base64_decode(**file_data);
    wipe(**file_data);  // a PEM upload holds its private key in clear
    wipe(body->at("fileData").get_ref<std::string&>());
    if (!bytes) {
        return make_error(ErrorCode::invalid_request, "\"fileData\" is not base64");
    }
    InstallInput in;
    in.file = std::move(*bytes);
    wipe(*bytes);  // (what a short string's move leaves behind)
    in.password = std::move(*password);
    in.exportable = exportable->value_or(false);
    in.friendlyName = friendly_name->value_or("");
    return in;
}

Result<agent::NewRequest> new_request_input(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    auto fields = request_fields(*body);
    auto exportable = bool_field(*body, "privateKeyExportable");
    auto friendly_name = string_field(*body, "friendlyName");
    auto key = string_field(*body, "idempotencyKey");
    if (!fields || !exportable || !friendly_name || !key) {
        if (!fields) {
            return fields.error();
        }
        if (!exportable) {
            return exportable.error();
        }
        if (!key) {
            return key.error();
        }
        return friendly_name.error();
    }
    auto spec = pki::check_request(*fields);
    if (!spec) {
        return spec.error();
    }
    return agent::NewRequest{std::move(*spec), friendly_name->value_or(""), exportable->value_or(false),
                             key->value_or("")};
}

Result<std::vector<std::string>> enable_input(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    auto services = string_list_field(*body, "services");
    if (!services) {
        return services.error();
    }
    if (!*services || (*services)->empty()) {
        return make_error(ErrorCode::invalid_request, "\"services\" must name at least one service");
    }
    return std::move(**services);
}

Result<ExportInput> export_input(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    auto password = secret_field(*body, "password");
    auto profile_text = string_field(*body, "profile");
    if (!password || !profile_text) {
        if (!password) {
            return password.error();
        }
        return profile_text.error();
    }
    if (!*password || (*password)->empty()) {
        return make_error(ErrorCode::invalid_request,
                          "\"password\" is required: an exported private key is always protected");
    }
    ExportInput in;
    if (*profile_text && !pki::parse_profile(**profile_text, in.profile)) {
        return make_error(ErrorCode::invalid_request, "\"profile\" must be \"modern\" or \"legacy\"");
    }
    in.password = std::move(**password);
    return in;
}

}  // namespace certdeploy::api
