#include "api/http/json_body.hpp"

#include "service/json_result.hpp"

namespace certdeploy::api {
namespace {

Error wrong_type(const char* name, const char* expected) {
    return make_error(ErrorCode::invalid_request, std::string("\"") + name + "\" must be " + expected);
}

}  // namespace

Error invalid_request(std::string message) {
    return make_error(ErrorCode::invalid_request, std::move(message));
}

Result<nlohmann::json> json_object_body(Request& req) {
    auto& text = req.message.body();
    nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    wipe(text);
    if (body.is_discarded()) {
        // nlohmann's own message quotes the text around the error, which may be a password: not used.
        return make_error(ErrorCode::invalid_request, "the body is not valid JSON");
    }
    if (!body.is_object()) {
        return make_error(ErrorCode::invalid_request, "the body must be a JSON object");
    }
    return json_result(std::move(body));
}

Result<std::optional<std::string>> string_field(const nlohmann::json& body, const char* name) {
    if (!body.contains(name) || body[name].is_null()) {
        return std::optional<std::string>();
    }
    if (!body[name].is_string()) {
        return wrong_type(name, "a string");
    }
    return std::optional<std::string>(body[name].get<std::string>());
}

Result<std::optional<bool>> bool_field(const nlohmann::json& body, const char* name) {
    if (!body.contains(name) || body[name].is_null()) {
        return std::optional<bool>();
    }
    if (!body[name].is_boolean()) {
        return wrong_type(name, "true or false");
    }
    return std::optional<bool>(body[name].get<bool>());
}

Result<std::optional<int>> int_field(const nlohmann::json& body, const char* name) {
    if (!body.contains(name) || body[name].is_null()) {
        return std::optional<int>();
    }
    const auto& value = body[name];
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 1'000'000) {
        return wrong_type(name, "a whole number");
    }
    return std::optional<int>(value.get<int>());
}

Result<pki::RequestFields> request_fields(const nlohmann::json& body) {
    auto subject = string_field(body, "subject");
    if (!subject) {
        return subject.error();
    }
    auto domains = string_list_field(body, "domains");
    if (!domains) {
        return domains.error();
    }
    auto algorithm = string_field(body, "keyAlgorithm");
    if (!algorithm) {
        return algorithm.error();
    }
    auto size = int_field(body, "keySize");
    if (!size) {
        return size.error();
    }
    return pki::RequestFields{subject->value_or(""), domains->value_or(std::vector<std::string>{}),
                              algorithm->value_or(""), size->value_or(0)};
}

Result<std::optional<std::vector<std::string>>> string_list_field(const nlohmann::json& body, const char* name) {
    if (!body.contains(name) || body[name].is_null()) {
        return std::optional<std::vector<std::string>>();
    }
    const auto& value = body[name];
    if (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); })) {
        return wrong_type(name, "an array of strings");
    }
    return std::optional<std::vector<std::string>>(value.get<std::vector<std::string>>());
}

Result<std::optional<Secret>> secret_field(nlohmann::json& body, const char* name) {
    if (!body.contains(name) || body[name].is_null()) {
        return std::optional<Secret>();
    }
    if (!body[name].is_string()) {
        return wrong_type(name, "a string");
    }
    auto& text = body[name].get_ref<std::string&>();
    std::optional<Secret> secret(std::in_place, text);
    wipe(text);
    return secret;
}

}  // namespace certdeploy::api
