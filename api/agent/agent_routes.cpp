#include "api/agent/agent_routes.hpp"

#include "api/http/json_body.hpp"
#include "api/http/problem.hpp"
#include "service/async/run_blocking.hpp"
#include "service/codec/base64.hpp"
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
        auto body = json_object_body(req);
        if (!body) {
            co_return fail(body);
        }
        auto file_data = string_field(*body, "fileData");
        auto password = secret_field(*body, "password");
        auto exportable = bool_field(*body, "privateKeyExportable");
        auto friendly_name = string_field(*body, "friendlyName");
        if (!file_data || !password || !exportable || !friendly_name) {
            // (if/else, not ?: — GCC 12 destroys a conditional's temporaries twice inside coroutines.)
            if (!file_data) {
                co_return fail(file_data);
            }
            if (!password) {
                co_return fail(password);
            }
            if (!exportable) {
                co_return fail(exportable);
            }
            co_return fail(friendly_name);
        }
        if (!*file_data) {
            co_return make_error(ErrorCode::invalid_request, "\"fileData\" (the certificate file, base64) is required");
        }
        auto bytes = codec::base64_decode(**file_data);
        wipe(**file_data);  // a PEM upload holds its private key in clear
        wipe(body->at("fileData").get_ref<std::string&>());
        if (!bytes) {
            co_return make_error(ErrorCode::invalid_request, "\"fileData\" is not base64");
        }
        const std::string thumbprint = req.params.at("thumbprint");
        ScopeExit wipe_bytes([&] { wipe(*bytes); });
        auto outcome = co_await run_blocking(pool, [&] {
            return service.install(thumbprint, *bytes, *password ? &**password : nullptr, exportable->value_or(false),
                                   friendly_name->value_or(""));
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
        auto body = json_object_body(req);
        if (!body) {
            co_return fail(body);
        }
        auto fields = request_fields(*body);
        auto exportable = bool_field(*body, "privateKeyExportable");
        auto friendly_name = string_field(*body, "friendlyName");
        auto key = string_field(*body, "idempotencyKey");
        if (!fields || !exportable || !friendly_name || !key) {
            if (!fields) {
                co_return fail(fields);
            }
            if (!exportable) {
                co_return fail(exportable);
            }
            if (!key) {
                co_return fail(key);
            }
            co_return fail(friendly_name);
        }
        auto spec = pki::check_request(*fields);
        if (!spec) {
            co_return fail(spec);
        }
        agent::NewRequest request{std::move(*spec), friendly_name->value_or(""), exportable->value_or(false),
                                  key->value_or("")};
        auto outcome = co_await run_blocking(pool, [&] { return service.create_request(request); });
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
        auto body = json_object_body(req);
        if (!body) {
            co_return fail(body);
        }
        auto services = string_list_field(*body, "services");
        if (!services) {
            co_return fail(services);
        }
        if (!*services || (*services)->empty()) {
            co_return make_error(ErrorCode::invalid_request, "\"services\" must name at least one service");
        }
        const std::string thumbprint = req.params.at("thumbprint");
        auto enabled = co_await run_blocking(pool, [&] { return service.enable(thumbprint, **services); });
        if (!enabled) {
            co_return fail(enabled);
        }
        co_return json_reply(req, http::status::ok, *enabled);
    });

    // Export-ExchangeCertificate.
    router.add(http::verb::post, "/agent/v1/certificates/{thumbprint}/export", [&](Request& req) -> Awaitable {
        auto body = json_object_body(req);
        if (!body) {
            co_return fail(body);
        }
        auto password = secret_field(*body, "password");
        auto profile_text = string_field(*body, "profile");
        if (!password || !profile_text) {
            if (!password) {
                co_return fail(password);
            }
            co_return fail(profile_text);
        }
        if (!*password || (*password)->empty()) {
            co_return make_error(ErrorCode::invalid_request,
                                 "\"password\" is required: an exported private key is always protected");
        }
        pki::Pkcs12Profile profile = pki::Pkcs12Profile::modern;
        if (*profile_text && !pki::parse_profile(**profile_text, profile)) {
            co_return make_error(ErrorCode::invalid_request, "\"profile\" must be \"modern\" or \"legacy\"");
        }
        const std::string thumbprint = req.params.at("thumbprint");
        auto exported =
            co_await run_blocking(pool, [&] { return service.export_pkcs12(thumbprint, **password, profile); });
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
