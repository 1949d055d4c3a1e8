// certdeploy agent: the per-server agent over HTTPS with mutual TLS. Its certificate is either given as
// files (tlsCert, tlsKey, clientCa) or its own identity from the controller's fleet CA: enrolled with a join
// token on the first start and renewed at two thirds of its lifetime (cli/agent_identity.hpp).

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "api/agent/agent_routes.hpp"
#include "api/http/tls_context.hpp"
#include "cli/agent_identity.hpp"
#include "cli/commands.hpp"
#include "cli/http_process.hpp"
#include "service/agent/agent_service.hpp"
#include "service/log.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::cli {
namespace {

using Clock = std::chrono::system_clock;

// Renews the identity at two thirds of its lifetime, less up to a tenth of it at random (agents enrolled
// together do not all ask at once); retries with backoff while the controller cannot be reached. A renewed
// certificate is served by raising SIGHUP, the same path as a rotation of files: no restart, no dropped
// connection.
class IdentityRenewer {
  public:
    IdentityRenewer(EnrolSettings settings, const pki::PkiContext& ctx, Clock::time_point not_after)
        : settings_(std::move(settings)), ctx_(ctx), not_after_(not_after.time_since_epoch().count()) {}

    // When the certificate being served ends (the health route reports it).
    Clock::time_point not_after() const { return Clock::time_point(Clock::duration(not_after_.load())); }
    ~IdentityRenewer() { stop(); }

    void start() {
        thread_ = std::thread([this] { run(); });
    }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

  private:
    // False when stopping.
    bool sleep_until(Clock::time_point when) {
        std::unique_lock lock(mutex_);
        return !wake_.wait_until(lock, when, [this] { return stopping_; });
    }

    void run() {
        std::mt19937_64 random(std::random_device{}());
        auto validity = identity_validity(settings_.identityDir);
        while (validity) {
            const auto life = validity->notAfter - validity->notBefore;
            std::uniform_int_distribution<long long> jitter(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(life / 10).count());
            const auto due = validity->notBefore + life * 2 / 3 - std::chrono::milliseconds(jitter(random));
            if (!sleep_until(due)) {
                return;
            }
            auto backoff = std::chrono::milliseconds(500);
            const auto longest =
                std::clamp<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(life / 20),
                                                      std::chrono::seconds(1), std::chrono::minutes(5));
            for (;;) {
                auto renewed = renew(settings_, ctx_);
                if (renewed) {
                    validity = *renewed;
                    not_after_ = renewed->notAfter.time_since_epoch().count();
                    log::info("identity renewed", {{"notAfter", rfc3339(renewed->notAfter)}});
                    ::kill(::getpid(), SIGHUP);  // serve it: new connections get it, open ones go on
                    break;
                }
                const auto left = std::chrono::duration_cast<std::chrono::seconds>(validity->notAfter - Clock::now());
                if (left.count() <= 0) {
                    log::error(
                        "this agent's certificate has expired and cannot be renewed: give it a new join token "
                        "(joinTokenFile) and remove its identity file to enrol again",
                        {{"identity", identity_files(settings_.identityDir).pem.string()},
                         {"message", renewed.error().message}});
                } else {
                    log::warn("cannot renew the identity yet; retrying",
                              {{"message", renewed.error().message}, {"secondsLeft", left.count()}});
                }
                if (!sleep_until(Clock::now() + backoff)) {
                    return;
                }
                backoff = std::min(backoff * 2, longest);
            }
        }
    }

    EnrolSettings settings_;
    const pki::PkiContext& ctx_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::atomic<Clock::rep> not_after_;
    std::thread thread_;
};

// An identity of its own: enrolled now if it has none (or an expired one and a new join token).
Result<Validity> ensure_identity(const EnrolSettings& settings, const pki::PkiContext& ctx) {
    if (has_identity(settings.identityDir)) {
        auto validity = identity_validity(settings.identityDir);
        if (!validity || validity->notAfter > Clock::now()) {
            return validity;
        }
        if (!settings.joinTokenFile || !std::filesystem::exists(*settings.joinTokenFile)) {
            return make_error(ErrorCode::invalid_config,
                              "this agent's certificate expired at " + rfc3339(validity->notAfter) +
                                  " (it was not renewed in time): give it a new join token (joinTokenFile) to enrol "
                                  "again");
        }
        log::warn("the identity has expired: enrolling again with the join token given");
    }
    auto made = enrol(settings, ctx);
    if (made) {
        log::info(
            "enrolled with the controller",
            {{"controller", settings.controller}, {"server", settings.name}, {"notAfter", rfc3339(made->notAfter)}});
    }
    return made;
}

}  // namespace

int run_agent(const config::AgentConfig& cfg) {
    auto services = agent::parse_services(cfg.services);
    if (!services) {
        std::cerr << "certdeploy agent: invalid value for key \"services\": " << services.error().message << '\n';
        return 2;
    }
    const bool own_files = cfg.tlsCert || cfg.tlsKey || cfg.clientCa;
    if (own_files && cfg.controller) {
        std::cerr << "certdeploy agent: keys \"tlsCert\", \"tlsKey\" and \"clientCa\" (certificate files of your own) "
                     "and \"controller\" (an identity from the controller's fleet CA) exclude each other: choose one\n";
        return 2;
    }
    if (!cfg.controller && !(cfg.tlsCert && cfg.tlsKey && cfg.clientCa)) {
        std::cerr << "certdeploy agent: keys \"tlsCert\", \"tlsKey\" and \"clientCa\" are required (the agent serves "
                     "HTTPS only), or \"controller\" with \"joinTokenFile\" and \"caFingerprint\" to enrol\n";
        return 2;
    }
    std::optional<EnrolSettings> enrolled;
    if (cfg.controller) {
        EnrolSettings settings{*cfg.controller, cfg.name,          cfg.advertiseUrl.value_or(""),
                               cfg.identityDir, cfg.joinTokenFile, cfg.caFingerprint,
                               cfg.controllerCa};
        if (settings.advertiseUrl.empty()) {
            if (cfg.http.listen.port == 0) {
                std::cerr << "certdeploy agent: key \"advertiseUrl\" is required when \"listen\" has port 0: the "
                             "controller must know where to reach this agent\n";
                return 2;
            }
            settings.advertiseUrl = "https://" + cfg.name + ":" + std::to_string(cfg.http.listen.port);
        }
        enrolled = std::move(settings);
    }
    log::init("agent", cfg.logLevel);
    auto ctx = pki::PkiContext::create();
    if (!ctx) {
        log::error("cannot start", {{"message", ctx.error().message}, {"detail", ctx.error().detail}});
        return 1;
    }
    std::filesystem::path cert_file, key_file, client_ca;
    Clock::time_point identity_not_after;
    if (enrolled) {
        auto validity = ensure_identity(*enrolled, **ctx);
        if (!validity) {
            log::error("cannot enrol with the controller",
                       {{"message", validity.error().message}, {"detail", validity.error().detail}});
            return validity.error().code == ErrorCode::invalid_config ? 2 : 1;
        }
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(validity->notAfter - Clock::now());
        log::info("identity", {{"notAfter", rfc3339(validity->notAfter)}, {"secondsLeft", left.count()}});
        identity_not_after = validity->notAfter;
        const auto files = identity_files(enrolled->identityDir);
        cert_file = key_file = files.pem;
        client_ca = files.ca;
    } else {
        cert_file = *cfg.tlsCert;
        key_file = *cfg.tlsKey;
        client_ca = *cfg.clientCa;
    }
    const TlsFactory make_tls = [&] { return api::make_mutual_tls_server(cert_file, key_file, client_ca); };
    if (auto tls = make_tls(); !tls) {
        log::error("cannot start", {{"message", tls.error().message}, {"detail", tls.error().detail}});
        return 2;
    }
    agent::AgentOptions options{cfg.name, cfg.store, cfg.caFiles, true, std::move(*services)};
    auto service = agent::AgentService::open(std::move(options), *ctx);
    if (!service) {
        log::error("cannot open the certificate store",
                   {{"message", service.error().message}, {"detail", service.error().detail}});
        return 1;
    }
    std::unique_ptr<IdentityRenewer> renewer;
    if (enrolled) {
        renewer = std::make_unique<IdentityRenewer>(*enrolled, **ctx, identity_not_after);
    }
    // Disk writes with fsync, reload commands and key derivations run here, never on the I/O threads.
    boost::asio::thread_pool blocking(2);
    const int status = run_http_process(
        "agent", cfg.http,
        [&](api::Router& router) {
            std::function<Clock::time_point()> identity;
            if (renewer) {
                identity = [&renewer] { return renewer->not_after(); };
            }
            api::add_agent_routes(router, **service, blocking, identity);
        },
        make_tls, {},
        [&] {
            if (renewer) {
                renewer->start();  // after SIGHUP has its handler
            }
        });
    renewer.reset();
    blocking.join();
    return status;
}

}  // namespace certdeploy::cli
