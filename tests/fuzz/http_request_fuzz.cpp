// libFuzzer target for a request's way in (api/http/http_server.cpp, serve_loop, serve_one and route): the input
// is what a client sends on one connection. It is read as serve_one reads it — Beast's
// http::request_parser<string_body> with the server's limits (ServerLimits: headers 16 KiB; bodies 16 MiB for an
// even-sized input, for an odd-sized one the least the configuration allows, maxBodyBytes 1024), read_header then
// the body, from reads of varied sizes — one request after another while they keep the connection alive. Each
// request parsed is routed as HttpServer::route routes it: its target in origin form (Boost.URL), the router's
// match over a route table of the controller's and the agent's paths (and the console's own routes), a CORS
// preflight; then its query and headers are read as the handlers and the server read them (page, query_param,
// bool_param, the agent's ?status=, Content-Type's boundary, Idempotency-Key, Expect, keep-alive).
// What must hold, for any bytes: each request is parsed or refused with a Beast error; a body parsed is within
// its limit; a matched route's parameters are non-empty; a path matched by no route for this method lists the
// methods it has; and never a crash, a leak, a hang or undefined behaviour.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/console/console_routes.hpp"
#include "api/controller/job_requests.hpp"
#include "api/http/cors.hpp"
#include "api/http/http_server.hpp"
#include "api/http/multipart.hpp"
#include "api/http/query.hpp"
#include "api/http/router.hpp"
#include "service/pki/trust.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace certdeploy;
using namespace certdeploy::api;

// The client's bytes, handed out in reads of varied sizes (as TCP segments come), then the end of the stream.
class ClientBytes {
  public:
    explicit ClientBytes(std::string_view bytes) : bytes_(bytes) {}

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
        static constexpr std::size_t kSizes[] = {1, 7, 512, 4096, 3, 65536};
        ec = {};
        if (bytes_.empty()) {
            ec = asio::error::eof;
            return 0;
        }
        const auto n = asio::buffer_copy(
            buffers, asio::buffer(bytes_.data(), std::min(bytes_.size(), kSizes[reads_++ % std::size(kSizes)])));
        bytes_.remove_prefix(n);
        return n;
    }

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers) {
        beast::error_code ec;
        const auto n = read_some(buffers, ec);
        if (ec) {
            throw beast::system_error(ec);
        }
        return n;
    }

  private:
    std::string_view bytes_;
    std::size_t reads_ = 0;
};

// The controller's and the agent's routes (openapi.yaml), with handlers that are never called: only matched.
struct Routes {
    Router router;
    CorsPolicy cors{{"https://admin.example.com"}};

    Routes() {
        const std::pair<http::verb, const char*> routes[] = {
            {http::verb::get, "/healthz"},
            {http::verb::get, "/metrics"},
            {http::verb::get, "/v1/servers"},
            {http::verb::put, "/v1/servers/{name}"},
            {http::verb::get, "/v1/servers/{name}"},
            {http::verb::delete_, "/v1/servers/{name}"},
            {http::verb::post, "/v1/servers/{name}/approve"},
            {http::verb::post, "/v1/imports"},
            {http::verb::post, "/v1/certificates/{thumbprint}/enable"},
            {http::verb::post, "/v1/certificates/{thumbprint}/remove"},
            {http::verb::post, "/v1/certificates/{thumbprint}/renew"},
            {http::verb::post, "/v1/requests"},
            {http::verb::get, "/v1/requests"},
            {http::verb::get, "/v1/servers/{name}/requests/{id}"},
            {http::verb::get, "/v1/jobs"},
            {http::verb::get, "/v1/jobs/{id}"},
            {http::verb::get, "/v1/jobs/{id}/events"},
            {http::verb::post, "/v1/jobs/{id}/retry"},
            {http::verb::post, "/v1/jobs/{id}/cancel"},
            {http::verb::get, "/v1/servers/{name}/certificates"},
            {http::verb::get, "/v1/servers/{name}/certificates/{thumbprint}"},
            {http::verb::post, "/v1/servers/{name}/certificates/{thumbprint}/export"},
            {http::verb::get, "/v1/certificates"},
            {http::verb::get, "/v1/whoami"},
            {http::verb::post, "/v1/tokens"},
            {http::verb::get, "/v1/tokens"},
            {http::verb::delete_, "/v1/tokens/{tokenName}"},
            {http::verb::post, "/v1/join-tokens"},
            {http::verb::get, "/v1/join-tokens"},
            {http::verb::delete_, "/v1/join-tokens/{joinTokenId}"},
            {http::verb::get, "/enrol/v1/ca"},
            {http::verb::post, "/enrol/v1/join"},
            {http::verb::post, "/enrol/v1/renew"},
            {http::verb::get, "/v1/audit"},
            {http::verb::get, "/agent/v1/certificates"},
            {http::verb::post, "/agent/v1/requests"},
            {http::verb::put, "/agent/v1/certificates/{thumbprint}"},
            {http::verb::get, "/agent/v1/certificates/{thumbprint}"},
            {http::verb::delete_, "/agent/v1/certificates/{thumbprint}"},
            {http::verb::post, "/agent/v1/certificates/{thumbprint}/enable"},
            {http::verb::post, "/agent/v1/certificates/{thumbprint}/export"},
            {http::verb::get, "/agent/v1/health"},
        };
        for (const auto& [method, pattern] : routes) {
            router.add(method, pattern, [](Request&) -> asio::awaitable<Result<Response>> {
                co_return make_error(ErrorCode::internal, "never called");
            });
        }
        add_console_routes(router);
    }
};

// What HttpServer::route and the handlers make of a parsed request.
void route(Request& req, const Routes& routes) {
    auto target = boost::urls::parse_origin_form(req.message.target());
    if (!target) {
        (void)problem_response(make_error(ErrorCode::invalid_request, "the request target is not a valid path"),
                               req.message.version(), "");
        return;
    }
    req.target = *target;
    const std::string instance(req.target.path());
    auto match = routes.router.match(req);
    if (match.handler != nullptr) {
        fuzz::require(!req.route.empty(), "a matched request names its route");
        for (const auto& [name, value] : req.params) {
            fuzz::require(!value.empty(), "a route's parameter is a non-empty segment");
        }
    } else if (match.allowed.empty()) {
        (void)problem_response(make_error(ErrorCode::not_found, "no resource at " + instance), req.message.version(),
                               instance);
    }
    (void)cors_preflight(routes.cors, req, match.allowed);
    Response res{http::status::ok, req.message.version()};
    cors_decorate(routes.cors, req, res);

    // The query, as the list handlers read it.
    if (auto paging = page(req, 100, 1000); !paging) {
        fuzz::require_client_error(paging.error(), instance);
    }
    (void)query_param(req, "state");
    (void)query_param(req, "after");
    if (auto dry_run = bool_param(req, "dryRun"); !dry_run) {
        fuzz::require_client_error(dry_run.error(), instance);
    }
    if (auto param = req.target.params().find("status"); param != req.target.params().end()) {
        pki::Status status{};
        (void)pki::parse_status((*param).value, status);
    }
    // The headers, as the server and the handlers read them.
    (void)req.message.method_string();
    (void)form_boundary(req.message[http::field::content_type]);
    if (auto key = idempotency_key(req); !key) {
        fuzz::require_client_error(key.error(), instance);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Routes routes;
    ServerLimits limits;
    if (size % 2 == 1) {
        limits.maxBodyBytes = 1024;
    }
    ClientBytes client(std::string_view(reinterpret_cast<const char*>(data), size));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(limits.maxBodyBytes);
        parser.header_limit(static_cast<std::uint32_t>(limits.maxHeaderBytes));
        beast::error_code ec;
        http::read_header(client, buffer, parser, ec);
        if (ec) {
            break;  // answered with a problem, or the client is gone (answer_read_error)
        }
        (void)beast::iequals(parser.get()[http::field::expect], "100-continue");
        if (!parser.is_done()) {
            http::read(client, buffer, parser, ec);
            if (ec) {
                break;
            }
        }
        Request req;
        req.message = parser.release();
        fuzz::require(req.message.body().size() <= limits.maxBodyBytes, "a body parsed is within its limit");
        route(req, routes);
        if (!req.message.keep_alive()) {
            break;
        }
    }
    return 0;
}
