// The controller's job requests as HTTP carries them (POST /v1/imports, /v1/requests,
// /v1/certificates/{thumbprint}/enable|remove): decoded into the domain's typed requests. Moved here
// from job_routes.cpp unchanged, so that the libFuzzer targets (tests/fuzz) reach them.

#include "api/controller/job_requests.hpp"

#include <algorithm>

#include "api/http/json_body.hpp"
#include "api/http/multipart.hpp"
#include "api/http/query.hpp"
#include "service/codec/base64.hpp"
#include "service/scope_exit.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdempotencyKey = 255;

// "ex01, ex02" and repeated parts alike: each name once, in order.
void add_names(std::vector<std::string>& out, std::string_view text) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto comma = text.find(',', pos);
        auto item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() &&
               (item.back() == ' ' || item.back() == '\t' || item.back() == '\r' || item.back() == '\n')) {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
}

// RFC 3629: well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

Result<bool> parse_bool(std::string_view text, const char* name) {
    if (text == "true" || text == "false") {
        return text == "true";
    }
    return invalid_request(std::string("\"") + name + "\" must be true or false");
}

Result<void> check_choice(const controller::ServerChoice& choice) {
    if (choice.hasSelector && !choice.names.empty()) {
        return invalid_request("give \"servers\" or \"selector\", not both");
    }
    if (!choice.hasSelector && choice.names.empty()) {
        return invalid_request(
            "\"servers\" is required: server names, or \"*\" for every registered server "
            "(or a \"selector\" of labels)");
    }
    if (choice.hasSelector && choice.selector.empty()) {
        return invalid_request("\"selector\" must name at least one label");
    }
    const bool star = std::find(choice.names.begin(), choice.names.end(), "*") != choice.names.end();
    if (star && choice.names.size() > 1) {
        return invalid_request("\"*\" (every server) cannot be combined with server names");
    }
    return {};
}

// {"servers": [...] | "*" | "a,b", "selector": {...}} of a JSON body; `checked` false leaves check_choice to
// the caller (an import's dry run may name no server).
Result<controller::ServerChoice> choice_from_json(const json& body, bool checked = true) {
    controller::ServerChoice choice;
    if (body.contains("servers") && !body["servers"].is_null()) {
        const auto& servers = body["servers"];
        if (servers.is_string()) {
            add_names(choice.names, servers.get_ref<const std::string&>());
        } else if (servers.is_array() &&
                   std::all_of(servers.begin(), servers.end(), [](const json& v) { return v.is_string(); })) {
            for (const auto& name : servers) {
                add_names(choice.names, name.get_ref<const std::string&>());
            }
        } else {
            return invalid_request("\"servers\" must be an array of server names");
        }
    }
    if (body.contains("selector") && !body["selector"].is_null()) {
        const auto& selector = body["selector"];
        if (!selector.is_object()) {
            return invalid_request("\"selector\" must be an object of label names to values");
        }
        for (const auto& [key, value] : selector.items()) {
            if (!value.is_string()) {
                return invalid_request("\"selector\" values must be strings");
            }
            choice.selector[key] = value.get<std::string>();
        }
        choice.hasSelector = true;
    }
    if (checked) {
        if (auto valid = check_choice(choice); !valid) {
            return valid.error();
        }
    }
    return choice;
}

}  // namespace

Result<void> only_fields(const json& body, std::initializer_list<const char*> allowed) {
    for (const auto& item : body.items()) {
        const std::string& key = item.key();  // (a structured binding: clang 14 cannot capture it in the lambda)
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) {
            std::string list;
            for (const char* name : allowed) {
                list += (list.empty() ? "" : ", ") + std::string(name);
            }
            return invalid_request("unknown field \"" + key + "\": expected " + list);
        }
    }
    return {};
}

namespace {

Result<ImportInput> import_from_form(std::string_view body, const std::string& boundary) {
    auto parts = parse_form(body, boundary);
    if (!parts) {
        return parts.error();
    }
    ImportInput in;
    auto& request = in.request;
    bool have_file = false;
    for (const auto& part : *parts) {
        if (part.name != "file" && part.name != "password" && !valid_utf8(part.body)) {
            return invalid_request("the part \"" + part.name + "\" is not UTF-8 text");
        }
        if (part.name == "file") {
            if (have_file) {
                in.moreFiles.emplace_back(part.body);
            } else {
                request.upload.file.assign(part.body);
                have_file = true;
            }
        } else if (part.name == "password") {
            request.upload.password.emplace(part.body);
        } else if (part.name == "servers") {
            add_names(request.servers.names, part.body);
        } else if (part.name == "selector") {
            // -F selector=role=mailbox, repeated for several labels.
            auto eq = part.body.find('=');
            if (eq == std::string_view::npos || eq == 0) {
                return invalid_request("a \"selector\" part is LABEL=VALUE, e.g. role=mailbox");
            }
            request.servers.selector[std::string(part.body.substr(0, eq))] = std::string(part.body.substr(eq + 1));
            request.servers.hasSelector = true;
        } else if (part.name == "privateKeyExportable" || part.name == "dryRun") {
            auto value = parse_bool(part.body, part.name.c_str());
            if (!value) {
                return value.error();
            }
            (part.name == "dryRun" ? in.dryRun : request.privateKeyExportable) = *value;
        } else if (part.name == "friendlyName") {
            request.friendlyName.assign(part.body);
        } else if (part.name == "services") {
            add_names(request.services, part.body);
        } else {
            return invalid_request(
                "unknown part \"" + part.name +
                "\": expected file, password, servers, selector, privateKeyExportable, friendlyName, "
                "services, dryRun");
        }
    }
    if (!have_file) {
        return invalid_request("the \"file\" part is required: curl -F file=@certificate.pfx");
    }
    return in;
}

Result<ImportInput> import_from_json(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    if (auto known = only_fields(*body, {"fileData", "password", "servers", "selector", "privateKeyExportable",
                                         "friendlyName", "services", "dryRun"});
        !known) {
        return known.error();
    }
    // fileData may be a PEM with its private key: wiped on every way out.
    ScopeExit wipe_file_data([&body] {
        if (auto it = body->find("fileData"); it != body->end() && it->is_string()) {
            wipe(it->get_ref<std::string&>());
        }
    });
    auto file_data = string_field(*body, "fileData");
    auto password = secret_field(*body, "password");
    auto exportable = bool_field(*body, "privateKeyExportable");
    auto friendly_name = string_field(*body, "friendlyName");
    auto services = string_list_field(*body, "services");
    auto dry_run = bool_field(*body, "dryRun");
    ScopeExit wipe_copy([&file_data] {
        if (file_data && *file_data) {
            wipe(**file_data);
        }
    });
    if (!file_data || !password || !exportable || !friendly_name || !services || !dry_run) {
        return !file_data       ? file_data.error()
               : !password      ? password.error()
               : !exportable    ? exportable.error()
               : !friendly_name ? friendly_name.error()
               : !services      ? services.error()
                                : dry_run.error();
    }
    if (!*file_data) {
        return invalid_request("\"fileData\" (the certificate file, base64) is required");
    }
    auto bytes = codec::base64_decode(**file_data);
    wipe(**file_data);
    wipe(body->at("fileData").get_ref<std::string&>());
    if (!bytes) {
        return invalid_request("\"fileData\" is not base64");
    }
    auto choice = choice_from_json(*body, false);
    if (!choice) {
        wipe(*bytes);
        return choice.error();
    }
    ImportInput in;
    in.request.upload.file = std::move(*bytes);
    in.request.upload.password = std::move(*password);
    in.request.servers = std::move(*choice);
    in.request.privateKeyExportable = exportable->value_or(false);
    in.request.friendlyName = friendly_name->value_or("");
    in.request.services = services->value_or(std::vector<std::string>{});
    in.dryRun = dry_run->value_or(false);
    return in;
}

}  // namespace

Result<ImportInput> import_input(Request& req) {
    const auto content_type = req.message[http::field::content_type];
    Result<ImportInput> in = make_error(ErrorCode::internal, "");
    if (auto boundary = form_boundary(content_type); !boundary.empty()) {
        in = import_from_form(req.message.body(), boundary);
    } else if (beast::iequals(content_type.substr(0, content_type.find(';')), "application/json")) {
        in = import_from_json(req);
    } else {
        in = make_error(ErrorCode::unsupported_media_type,
                        "send the certificate as multipart/form-data (curl -F file=@cert.pfx) or application/json "
                        "with fileData in base64");
    }
    wipe(req.message.body());  // it held the file and the password
    if (!in) {
        return in;
    }
    auto dry_run = bool_param(req, "dryRun");
    if (!dry_run) {
        return dry_run.error();
    }
    in->dryRun = in->dryRun || dry_run->value_or(false);
    // Naming no server: a dry run checks the file alone (the console's wizard shows the certificate before any
    // server is chosen); an import sends each CA answer to the servers whose pending request it completes.
    const auto& choice = in->request.servers;
    const bool named = !choice.names.empty() || choice.hasSelector;
    if (!in->moreFiles.empty() && (named || in->dryRun)) {
        for (auto& file : in->moreFiles) {
            wipe(file);
        }
        return invalid_request(in->dryRun
                                   ? "a dry run reads one \"file\""
                                   : "give one \"file\" with \"servers\": several files are CA answers, and each "
                                     "finds its servers by the request it completes");
    }
    if (named) {
        if (auto checked = check_choice(choice); !checked) {
            return checked.error();
        }
    }
    return in;
}

Result<std::string> idempotency_key(const Request& req) {
    std::string key(req.message["Idempotency-Key"]);
    if (key.size() > kMaxIdempotencyKey) {
        return invalid_request("Idempotency-Key must be at most 255 characters");
    }
    return key;
}

Result<controller::FleetRequest> fleet_request(Request& req, controller::JobKind kind) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    const bool enable = kind == controller::JobKind::enable;
    auto known =
        enable ? only_fields(*body, {"servers", "selector", "services"}) : only_fields(*body, {"servers", "selector"});
    if (!known) {
        return known.error();
    }
    auto choice = choice_from_json(*body);
    if (!choice) {
        return choice.error();
    }
    controller::FleetRequest request{kind, req.params.at("thumbprint"), std::move(*choice), {}};
    if (enable) {
        auto services = string_list_field(*body, "services");
        if (!services) {
            return services.error();
        }
        if (!*services || (*services)->empty()) {
            return invalid_request("\"services\" must name at least one service");
        }
        request.services = std::move(**services);
    }
    return request;
}

// POST /v1/requests: the request's fields, the servers, friendlyName and privateKeyExportable.
Result<controller::CertificateRequestJob> certificate_request(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    if (auto known = only_fields(*body, {"subject", "domains", "keyAlgorithm", "keySize", "friendlyName",
                                         "privateKeyExportable", "servers", "selector"});
        !known) {
        return known.error();
    }
    auto fields = request_fields(*body);
    if (!fields) {
        return fields.error();
    }
    auto friendly_name = string_field(*body, "friendlyName");
    if (!friendly_name) {
        return friendly_name.error();
    }
    auto exportable = bool_field(*body, "privateKeyExportable");
    if (!exportable) {
        return exportable.error();
    }
    auto choice = choice_from_json(*body);
    if (!choice) {
        return choice.error();
    }
    auto spec = pki::check_request(*fields);
    if (!spec) {
        return spec.error();
    }
    controller::CertificateRequestJob out;
    out.spec = std::move(*spec);
    out.servers = std::move(*choice);
    out.friendlyName = friendly_name->value_or("");
    out.privateKeyExportable = exportable->value_or(false);
    return out;
}

}  // namespace certdeploy::api
