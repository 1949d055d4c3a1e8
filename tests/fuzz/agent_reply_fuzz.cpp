// libFuzzer target for the decoding of an agent's answers in the controller (api/clients/agent_replies, which
// HttpAgentApi uses) and for what the controller keeps of a list (controller::inventory_row, as the prober and
// GET /v1/servers/{name}/certificates store it). Every input is the body of each answer in turn: a refusal
// (problem+json), health, a list, an install's and a request's answer, with a 200 or a 201 status (by the
// input's size). What must hold, for any bytes: each gives its typed reply or an Error naming the server (a
// refusal: the agent's own code, else agent-error); a list is an array of certificates; a request's answer
// carries the request's description; and never a crash, a leak, a hang or undefined behaviour.

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/clients/agent_replies.hpp"
#include "service/controller/server_registry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace certdeploy;

const std::string kServer = "ex01";

bool names_server(const Error& error) {
    return error.message.rfind(kServer + ": ", 0) == 0;
}

template <class T>
void check(const Result<T>& decoded) {
    if (!decoded) {
        fuzz::require(decoded.error().code == ErrorCode::agent_error,
                      "a reply not of the expected shape is agent-error");
        fuzz::require(names_server(decoded.error()), "an agent's error names the server");
        (void)api::problem_response(decoded.error(), 11, "/v1/servers/ex01/certificates");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    api::AgentClient::Reply reply{size % 2 == 0 ? 200U : 201U, std::string(reinterpret_cast<const char*>(data), size)};

    const auto refused = api::refusal(kServer, api::AgentClient::Reply{409, reply.body});
    fuzz::require(names_server(refused), "a refusal names the server");
    (void)api::problem_response(refused, 11, "/v1/servers/ex01/certificates");

    (void)api::health_reply(reply);
    check(api::reply_object(kServer, reply));

    auto list = api::list_reply(kServer, reply);
    check(list);
    if (list) {
        fuzz::require(list->contains("certificates") && (*list)["certificates"].is_array(),
                      "a list holds an array of certificates");
        for (const auto& certificate : (*list)["certificates"]) {
            (void)controller::inventory_row(kServer, certificate, "2030-01-01T00:00:00Z");
        }
    }

    auto installed = api::install_reply(kServer, reply);
    check(installed);
    if (installed) {
        fuzz::require(!installed->certificate || installed->certificate->is_object(),
                      "an installed certificate's description is an object");
    }
    auto requested = api::request_reply(kServer, reply);
    check(requested);
    if (requested) {
        fuzz::require(requested->certificate && requested->certificate->is_object(),
                      "a request's answer describes the request");
    }
    return 0;
}
