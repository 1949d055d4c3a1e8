// libFuzzer target for the JSON request decoders of the controller and of the agent: every input is the body
// of each of their requests in turn (application/json), decoded as the handler decodes it:
//   controller (api/controller/*_requests, service/controller/server_registry): POST /v1/imports,
//     /v1/certificates/{thumbprint}/enable and /remove, /v1/requests, /v1/tokens, /v1/join-tokens,
//     /enrol/v1/join, /enrol/v1/renew, PUT /v1/servers/{name};
//   agent (api/agent/agent_requests): PUT /agent/v1/certificates/{thumbprint}, POST /agent/v1/requests,
//     /enable, /export.
// What must hold, for any bytes: each decoder gives its typed request or a 4xx error (never internal-error);
// a body holding a password or a file is wiped once decoded; a join token's "uses" is the number sent; and never
// a crash, a leak, a hang or undefined behaviour.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/agent/agent_requests.hpp"
#include "api/controller/access_requests.hpp"
#include "api/controller/enrolment_requests.hpp"
#include "api/controller/job_requests.hpp"
#include "api/http/json_body.hpp"
#include "service/controller/server_registry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace certdeploy;
using api::http::verb;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kThumbprint = "/0123456789ABCDEF0123456789ABCDEF01234567";

// Decodes `body` with `decoder(Request&)` as the handler of `target` does: a value or a 4xx error.
template <class Decoder>
void decode(verb method, const std::string& target, std::string_view body, Decoder decoder) {
    auto req = fuzz::make_request(method, target, kJson, body);
    req.params["thumbprint"] = std::string(kThumbprint.substr(1));
    auto decoded = decoder(req);
    if (!decoded) {
        fuzz::require_client_error(decoded.error(), target);
    }
    fuzz::require(req.message.body().empty(), "the body is wiped once decoded");
}

template <class T>
void check(const Result<T>& decoded, std::string_view target) {
    if (!decoded) {
        fuzz::require_client_error(decoded.error(), target);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const std::string certificate = "/v1/certificates" + std::string(kThumbprint);
    const std::string agent_certificate = "/agent/v1/certificates" + std::string(kThumbprint);

    // The controller's.
    decode(verb::post, "/v1/imports", body, [](api::Request& req) { return api::import_input(req); });
    decode(verb::post, certificate + "/enable", body,
           [](api::Request& req) { return api::fleet_request(req, controller::JobKind::enable); });
    decode(verb::post, certificate + "/remove", body,
           [](api::Request& req) { return api::fleet_request(req, controller::JobKind::remove); });
    decode(verb::post, "/v1/requests", body, [](api::Request& req) { return api::certificate_request(req); });
    // The decoders of a parsed body, after json_object_body as their handlers call it.
    auto req = fuzz::make_request(verb::post, "/v1/tokens", kJson, body);
    auto json = api::json_object_body(req);
    if (!json) {
        fuzz::require_client_error(json.error(), "/v1/tokens");
    } else {
        check(api::token_spec(*json), "/v1/tokens");
        auto join_token = api::join_token_spec(*json);
        check(join_token, "/v1/join-tokens");
        if (join_token && json->contains("uses")) {
            const auto& uses = (*json)["uses"];
            const bool same =
                uses.is_number_unsigned()
                    ? join_token->uses >= 0 && uses.get<std::uint64_t>() == static_cast<std::uint64_t>(join_token->uses)
                    : uses.get<std::int64_t>() == join_token->uses;
            fuzz::require(same, "a join token's \"uses\" is the number sent");
        }
        check(api::join_request(*json), "/enrol/v1/join");
        check(api::renewal_csr(*json), "/enrol/v1/renew");
        check(controller::parse_server_spec(*json), "/v1/servers/ex01");
    }

    // The agent's.
    decode(verb::put, agent_certificate, body, [](api::Request& req) { return api::install_input(req); });
    decode(verb::post, "/agent/v1/requests", body, [](api::Request& req) { return api::new_request_input(req); });
    decode(verb::post, agent_certificate + "/enable", body, [](api::Request& req) { return api::enable_input(req); });
    decode(verb::post, agent_certificate + "/export", body, [](api::Request& req) { return api::export_input(req); });
    return 0;
}
