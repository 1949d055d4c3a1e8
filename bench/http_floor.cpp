// The floor under the API's reads: certdeploy's own HTTP server (api::HttpServer on its I/O threads, one
// per core, with its per-request log line at info) answering one route with fixed bytes — no token, no
// store, no JSON built. What the controller spends above this is its handlers'; what this spends beside
// nginx is Beast's, Asio's and the server's own. bench/api_bench.sh runs it as a third peer.
//
//   http_floor BODY_FILE READY_FILE
// Serves GET /v1/servers/{name} with BODY_FILE's bytes (application/json) on a free loopback port, writes
// "127.0.0.1:PORT" to READY_FILE, and runs until SIGTERM or SIGINT.

#include <boost/asio/signal_set.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "api/http/http_server.hpp"
#include "api/http/net.hpp"
#include "service/log.hpp"

using namespace certdeploy;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: http_floor BODY_FILE READY_FILE\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        std::cerr << "cannot read " << argv[1] << "\n";
        return 1;
    }
    log::init("floor", log::Level::info);
    api::IoContexts contexts(std::max(1U, std::thread::hardware_concurrency()));
    api::Router router;
    router.add(api::http::verb::get, "/v1/servers/{name}",
               [&body](api::Request& req) -> api::asio::awaitable<Result<api::Response>> {
                   api::Response res{api::http::status::ok, req.message.version()};
                   res.set(api::http::field::content_type, "application/json");
                   res.body() = body;
                   res.prepare_payload();
                   co_return Result<api::Response>(std::move(res));
               });
    api::HttpServer server(contexts, std::move(router), api::ServerLimits{});
    auto bound = server.listen("127.0.0.1", 0);
    if (!bound) {
        std::cerr << bound.error().message << "\n";
        return 1;
    }
    std::ofstream(argv[2]) << api::endpoint_string(*bound) << "\n";
    api::asio::signal_set signals(contexts.main(), SIGINT, SIGTERM);
    signals.async_wait([&](const api::beast::error_code&, int) {
        server.shutdown(std::chrono::milliseconds(100), [&contexts] { contexts.stop(); });
    });
    server.start();
    contexts.run([](api::asio::io_context& context) { context.run(); });
    return 0;
}
