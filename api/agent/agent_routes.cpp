#include "api/agent/agent_routes.hpp"

#include "api/agent/agent_requests.hpp"
#include "api/http/problem.hpp"
#include "service/async/run_blocking.hpp"
#include "service/scope_exit.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;

// A Result<T>'s error as the handler's Result<Response>.
template <class T>
Result<Response> fail(const Result<T>& r) {
    return r.error();
}

}  // namespace

void add_agent_routes(Router& router, agent::AgentService& service, asio::thread_pool& pool,
                      std::function<std::chrono::system_clock::time_point()> identity_not_after) {
    // Import-ExchangeCertificate.
    router.add(http::verb::put, "/agent/v1/certificates/{thumbprint}", [&](Request& req) -> Awaitable {
        auto input = install_input(req);
        if (!input) {
            co_return fail(input);
        }
        const std::string thumbprint = req.params.at("thumbprint");
        ScopeExit wipe_bytes([&] { wipe(input->file); });
        auto outcome = co_await run_blocking(pool, [&] {
            return service.install(thumbprint, input->file, input->password ? &*input->password : nullptr,
                                   input->exportable, input->friendlyName);
        });
        if (!outcome) {
            co_return fail(outcome);
        }
        const char* result = outcome->installed ? "installed" : "alreadyInstalled";
        if (outcome->completedRequest) {
            result = "completed";  // installed, joined to the key of a request made here
        }
        auto res = json_reply(req, outcome->installed ? http::status::created : http::status::ok,
                              {{"result", result}, {"certificate", outcome->certificate}});
        res.set(http::field::location,
                "/agent/v1/certificates/" + outcome->certificate["thumbprint"].get<std::string>());
        co_return res;
    });

    // New-ExchangeCertificate -GenerateRequest: the key pair made here, the request returned as PEM. An
    // idempotencyKey (the controller sends its job and server) answers a repeat with the same request.
    router.add(http::verb::post, "/agent/v1/requests", [&](Request& req) -> Awaitable {
        auto request = new_request_input(req);
        if (!request) {
            co_return fail(request);
        }
        auto outcome = co_await run_blocking(pool, [&] { return service.create_request(*request); });
        if (!outcome) {
            co_return fail(outcome);
        }
        auto res = json_reply(
            req, outcome->created ? http::status::created : http::status::ok,
            {{"result", outcome->created ? "requested" : "alreadyRequested"}, {"certificate", outcome->request}});
        res.set(http::field::location, "/agent/v1/certificates/" + outcome->request["thumbprint"].get<std::string>());
        co_return res;
    });

    // Get-ExchangeCertificate, with its where {$_.Status -eq "Valid"} filter; status=PendingRequest lists
    // the requests waiting for a CA's answer.
    router.add(http::verb::get, "/agent/v1/certificates", [&](Request& req) -> Awaitable {
        std::optional<pki::Status> status;
        if (auto param = req.target.params().find("status"); param != req.target.params().end()) {
            if ((*param).value == "PendingRequest") {
                auto pending = co_await run_blocking(pool, [&] { return service.pending_requests(); });
                co_return json_reply(req, http::status::ok, {{"certificates", std::move(pending)}});
            }
            pki::Status parsed{};
            if (!pki::parse_status((*param).value, parsed)) {
                co_return make_error(ErrorCode::invalid_request,
                                     "status must be one of Valid, Untrusted, DateInvalid, Invalid, PendingRequest");
            }
            status = parsed;
        }
        // Reads go to the pool as well: they wait on the lock that an enable holds through a reload.
        auto list = co_await run_blocking(pool, [&] { return service.list(status); });
        co_return json_reply(req, http::status::ok, {{"certificates", std::move(list)}});
    });

    router.add(http::verb::get, "/agent/v1/certificates/{thumbprint}", [&](Request& req) -> Awaitable {
        const std::string thumbprint = req.params.at("thumbprint");
        auto found = co_await run_blocking(pool, [&] { return service.get(thumbprint); });
        if (!found) {
            co_return fail(found);
        }
        co_return json_reply(req, http::status::ok, *found);
    });

    // Enable-ExchangeCertificate.
    router.add(http::verb::post, "/agent/v1/certificates/{thumbprint}/enable", [&](Request& req) -> Awaitable {
        auto services = enable_input(req);
        if (!services) {
            co_return fail(services);
        }
        const std::string thumbprint = req.params.at("thumbprint");
        auto enabled = co_await run_blocking(pool, [&] { return service.enable(thumbprint, *services); });
        if (!enabled) {
            co_return fail(enabled);
        }
        co_return json_reply(req, http::status::ok, *enabled);
    });

    // Export-ExchangeCertificate.
    router.add(http::verb::post, "/agent/v1/certificates/{thumbprint}/export", [&](Request& req) -> Awaitable {
        auto input = export_input(req);
        if (!input) {
            co_return fail(input);
        }
        const std::string thumbprint = req.params.at("thumbprint");
        auto exported = co_await run_blocking(
            pool, [&] { return service.export_pkcs12(thumbprint, input->password, input->profile); });
        if (!exported) {
            co_return fail(exported);
        }
        Response res{http::status::ok, req.message.version()};
        res.set(http::field::content_type, "application/x-pkcs12");
        res.set(http::field::content_disposition, "attachment; filename=\"" + thumbprint + ".pfx\"");
        res.set(http::field::cache_control, "no-store");
        res.body() = std::move(*exported);
        co_return res;
    });

    // Remove-ExchangeCertificate.
    router.add(http::verb::delete_, "/agent/v1/certificates/{thumbprint}", [&](Request& req) -> Awaitable {
        const std::string thumbprint = req.params.at("thumbprint");
        auto removed = co_await run_blocking(pool, [&] { return service.remove(thumbprint); });
        if (!removed) {
            co_return fail(removed);
        }
        co_return Response{http::status::no_content, req.message.version()};
    });

    router.add(http::verb::get, "/agent/v1/health", [&, identity_not_after](Request& req) -> Awaitable {
        auto health = service.health();
        if (identity_not_after) {
            const auto not_after = identity_not_after();
            const auto left =
                std::chrono::duration_cast<std::chrono::seconds>(not_after - std::chrono::system_clock::now());
            health["identity"] = {{"notAfter", rfc3339(not_after)}, {"secondsLeft", left.count()}};
        }
        co_return json_reply(req, http::status::ok, health);
    });
}

}  // namespace certdeploy::api
