#include "cli/http_process.hpp"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "api/http/health_routes.hpp"
#include "api/http/http_server.hpp"
#include "certdeploy/version.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/health.hpp"
#include "service/log.hpp"
#include "service/memory/heap_trimmer.hpp"

namespace certdeploy::cli {
namespace {

// Written atomically (fs::write_file_atomically), so a reader waiting on it never sees half a line.
Result<void> write_ready_file(const std::filesystem::path& path, const std::string& address) {
    if (auto written = fs::write_file_atomically(path, address + "\n", 0644); !written) {
        return make_error(ErrorCode::io_error, "cannot write the ready file " + path.string(), written.error().message);
    }
    return {};
}

// Every connection is a descriptor, and the usual soft limit (1024) would refuse connections long before
// maxConnections; the hard limit is what the administrator (or the unit's LimitNOFILE) allows. Asio waits
// with epoll and libpq with poll, so descriptors above 1024 are safe.
void raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) {
        return;
    }
    const auto before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        log::warn("cannot raise the open file limit", {{"soft", before}, {"hard", limit.rlim_max}});
    }
}

}  // namespace

int run_http_process(std::string_view role, const config::HttpSettings& http,
                     const std::function<void(api::Router&)>& add_routes, const TlsFactory& make_tls,
                     const api::CorsPolicy& cors, const std::function<void()>& on_listening,
                     const std::optional<SideListener>& side) {
    raise_open_file_limit();
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (make_tls) {
        auto made = make_tls();
        if (!made) {
            log::error("cannot start", {{"message", made.error().message}, {"detail", made.error().detail}});
            return 1;
        }
        tls = std::move(*made);
    }
    // A burst's freed memory (a probe round of thousands of servers, a large job) goes back to the system: its
    // large blocks at once, the rest once the burst is over, rather than staying the process's footprint.
    memory::map_large_blocks_apart();
    memory::HeapTrimmer trimmer;
    api::IoContexts contexts(http.threads);
    // Installed before the socket listens, so a signal sent as soon as the ready file appears is caught.
    api::asio::signal_set signals(contexts.main(), SIGINT, SIGTERM);
    api::asio::signal_set hangups(contexts.main(), SIGHUP);

    HealthMonitor health{std::string(role)};
    api::Router router;
    api::add_health_routes(router, health);
    add_routes(router);

    api::ServerLimits limits;
    limits.maxBodyBytes = http.maxBodyBytes;
    limits.requestTimeout = http.requestTimeout;
    limits.idleTimeout = http.idleTimeout;
    api::HttpServer server(contexts, std::move(router), limits, std::move(tls));
    server.set_cors(cors);

    auto bound = server.listen(http.listen.host, http.listen.port);
    if (!bound) {
        log::error("cannot start", {{"message", bound.error().message}, {"detail", bound.error().detail}});
        return 1;
    }
    const std::string address = api::endpoint_string(*bound);
    std::unique_ptr<api::HttpServer> side_server;
    if (side) {
        api::Router side_router;
        api::add_health_routes(side_router, health);
        side.value().add_routes(side_router);
        side_server = std::make_unique<api::HttpServer>(contexts, std::move(side_router), limits);
        auto side_bound = side_server->listen(side->listen.host, side->listen.port);
        if (!side_bound) {
            log::error("cannot start",
                       {{"message", side_bound.error().message}, {"detail", side_bound.error().detail}});
            return 1;
        }
        log::info("listening (plain HTTP, no token)", {{"address", api::endpoint_string(*side_bound)}});
    }
    if (http.readyFile) {
        if (auto written = write_ready_file(*http.readyFile, address); !written) {
            log::error("cannot start", {{"message", written.error().message}, {"detail", written.error().detail}});
            return 1;
        }
    }

    // SIGHUP: the TLS files again (certificates rotate). Without TLS a hang-up is logged and ignored.
    std::function<void(const api::beast::error_code&, int)> on_hangup = [&](const api::beast::error_code& ec, int) {
        if (ec) {
            return;
        }
        if (!make_tls) {
            log::info("SIGHUP ignored: nothing to reload (no TLS)");
        } else if (auto made = make_tls(); !made) {
            log::error("TLS reload failed: the current certificate stays",
                       {{"message", made.error().message}, {"detail", made.error().detail}});
        } else {
            server.replace_tls(std::move(*made));
            log::info("TLS certificate reloaded");
        }
        hangups.async_wait(on_hangup);
    };
    hangups.async_wait(on_hangup);

    signals.async_wait([&](const api::beast::error_code& ec, int signal_number) {
        if (ec) {
            return;
        }
        hangups.cancel();
        log::info("signal received", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
        // The io_contexts stop once every listener has stopped.
        auto running = std::make_shared<std::atomic<int>>(side_server ? 2 : 1);
        auto stopped = [&contexts, running] {
            if (--*running == 0) {
                contexts.stop();
            }
        };
        server.shutdown(http.shutdownGrace, stopped);
        if (side_server) {
            side_server->shutdown(http.shutdownGrace, stopped);
        }
        // A second signal means "now": close every connection without waiting for the grace period. The
        // io_contexts still stop only once the last connection has ended, so no coroutine outlives the server.
        signals.async_wait([&server, &side_server](const api::beast::error_code& again, int) {
            if (!again) {
                log::warn("second signal: closing every connection now");
                server.force_close();
                if (side_server) {
                    side_server->force_close();
                }
            }
        });
    });

    server.start();
    if (side_server) {
        side_server->start();
    }
    log::info("listening", {{"address", address}, {"version", kVersion}, {"threads", http.threads}});
    if (on_listening) {
        on_listening();
    }

    // An exception escaping a handler (std::bad_alloc under memory pressure) is logged and the thread goes
    // back to work, rather than terminating the process and every connection with it.
    contexts.run([](api::asio::io_context& context) {
        for (;;) {
            try {
                context.run();
                return;
            } catch (const std::exception& e) {
                log::error("I/O thread caught an exception", {{"error", e.what()}});
            }
        }
    });

    if (http.readyFile) {
        std::error_code ignored;
        std::filesystem::remove(*http.readyFile, ignored);
    }
    log::info("stopped");
    return 0;
}

}  // namespace certdeploy::cli
