// certdeploy server: the controller's REST API.

#include <unistd.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <iostream>

#include "api/clients/agent_link.hpp"
#include "api/console/console_routes.hpp"
#include "api/controller/controller_routes.hpp"
#include "api/controller/metrics_routes.hpp"
#include "api/http/tls_context.hpp"
#include "cli/commands.hpp"
#include "cli/controller_database.hpp"
#include "cli/http_process.hpp"
#include "service/codec/random_hex.hpp"
#include "service/controller/access/audit_log.hpp"
#include "service/controller/access/failure_throttle.hpp"
#include "service/controller/access/token_service.hpp"
#include "service/controller/enrolment/enrolment.hpp"
#include "service/controller/job_service.hpp"
#include "service/controller/runtime/agent_prober.hpp"
#include "service/controller/runtime/job_dispatcher.hpp"
#include "service/controller/server_registry.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/log.hpp"
#include "service/metrics/metrics.hpp"
#include "service/net/host_name.hpp"
#include "service/pki/fleet_ca.hpp"
#include "service/try.hpp"
#include "store/controller_store.hpp"
#include "store/transaction_observer.hpp"

namespace certdeploy::cli {
namespace {

// HTTPS unless plain HTTP was asked for, and plain HTTP only where no one else can listen: the API carries
// PFX passwords and exported private keys. Empty when the configuration is acceptable.
std::string api_transport_problem(const config::ServerConfig& cfg) {
    if (cfg.tlsCert.has_value() != cfg.tlsKey.has_value()) {
        return "keys \"tlsCert\" and \"tlsKey\" go together: give both (HTTPS) or neither";
    }
    if (cfg.tlsCert && cfg.insecureHttp) {
        return "key \"insecureHttp\" contradicts \"tlsCert\" and \"tlsKey\": choose HTTPS or plain HTTP";
    }
    if (!cfg.tlsCert && !cfg.insecureHttp) {
        return "keys \"tlsCert\" and \"tlsKey\" are required: the API is served over HTTPS (certdeploy pki init "
               "makes server.pem and server.key); plain HTTP only with \"insecureHttp\": true on a loopback address";
    }
    if (cfg.clientCa && !cfg.tlsCert) {
        return "key \"clientCa\" needs HTTPS: client certificates are presented in the TLS handshake; give "
               "\"tlsCert\" and \"tlsKey\"";
    }
    if (!cfg.clientCertificates.empty() && !cfg.clientCa) {
        return "key \"clientCertificates\" needs \"clientCa\": the CA that issues those client certificates";
    }
    if (cfg.metricsListen && !net::is_loopback(cfg.metricsListen->host)) {
        return "key \"metricsListen\" is refused on " + cfg.metricsListen->to_string() +
               ", which is not a loopback address: it answers without a token; scrape /metrics on the API with a "
               "viewer token instead";
    }
    if (cfg.insecureHttp && !net::is_loopback(cfg.http.listen.host)) {
        return "key \"insecureHttp\" is refused on " + cfg.http.listen.to_string() +
               ", which is not a loopback address: plain HTTP would carry passwords and keys in the clear; give "
               "\"tlsCert\" and \"tlsKey\"";
    }
    return {};
}

// A TLS context with a new client certificate when the current one has a third of its life left (or none
// exists); nullptr when it is still good.
Result<std::shared_ptr<boost::asio::ssl::context>> renew_client_tls(pki::FleetCa& fleet,
                                                                    std::chrono::seconds lifetime) {
    CERTDEPLOY_TRY_ASSIGN(const bool made, fleet.ensure_client_certificate(std::chrono::system_clock::now(), lifetime));
    if (!made) {
        return std::shared_ptr<boost::asio::ssl::context>();
    }
    CERTDEPLOY_TRY_ASSIGN(
        auto tls, api::make_mutual_tls_client(fleet.client_cert_file(), fleet.client_key_file(), fleet.ca_file()));
    log::info("controller client certificate issued by the fleet CA", {{"file", fleet.client_cert_file().string()}});
    return tls;
}

// This controller's id in its claims on targets: the same across its restarts (DATA_DIR/controller.id), so
// that at start it takes back at once what it was running when it stopped; another on the same database
// waits for the lease to end.
Result<std::string> controller_id(const std::filesystem::path& data_dir) {
    const auto path = data_dir / "controller.id";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        CERTDEPLOY_TRY(fs::write_file_atomically(path, std::string(host) + "-" + codec::random_hex(6) + "\n", 0600));
    }
    CERTDEPLOY_TRY_ASSIGN(auto text, fs::read_file(path, 1024));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    if (text.empty()) {
        return make_error(ErrorCode::io_error, "the file " + path.string() + " is empty");
    }
    return text;
}

}  // namespace

int run_server(const config::ServerConfig& cfg) {
    // The servers of the configuration file are checked before anything starts, like every other key.
    std::vector<std::pair<std::string, controller::ServerSpec>> configured;
    for (const auto& [name, spec] : cfg.servers.items()) {
        auto parsed = controller::parse_server_spec(spec);
        if (!parsed) {
            std::cerr << "certdeploy server: invalid value for key \"servers\": server \"" << name
                      << "\": " << parsed.error().message << '\n';
            return 2;
        }
        configured.emplace_back(name, std::move(*parsed));
    }
    // Mutual TLS to the agents: a PKI of one's own (agentCa, agentClientCert and agentClientKey), or the fleet
    // CA, which issues the controller's client certificate itself (agentCa with agentCaKey, or none: made in
    // DATA_DIR/pki on the first start).
    const bool own_pki = cfg.agentClientCert || cfg.agentClientKey;
    if (own_pki && (!cfg.agentCa || !cfg.agentClientCert || !cfg.agentClientKey || cfg.agentCaKey)) {
        std::cerr << "certdeploy server: keys \"agentCa\", \"agentClientCert\" and \"agentClientKey\" go together "
                     "(a PKI of your own, without \"agentCaKey\"); give none of them to use the fleet CA the "
                     "controller keeps in DATA_DIR/pki\n";
        return 2;
    }
    if (!own_pki && cfg.agentCa.has_value() != cfg.agentCaKey.has_value()) {
        std::cerr << "certdeploy server: keys \"agentCa\" and \"agentCaKey\" go together: the fleet CA to issue "
                     "certificates with (or \"agentClientCert\" and \"agentClientKey\" of your own PKI)\n";
        return 2;
    }
    std::shared_ptr<boost::asio::ssl::context> agent_tls;
    if (own_pki) {
        auto tls = api::make_mutual_tls_client(*cfg.agentClientCert, *cfg.agentClientKey, *cfg.agentCa);
        if (!tls) {
            std::cerr << "certdeploy server: " << tls.error().message << '\n';
            return 2;
        }
        agent_tls = std::move(*tls);
    }
    if (const auto problem = api_transport_problem(cfg); !problem.empty()) {
        std::cerr << "certdeploy server: " << problem << '\n';
        return 2;
    }
    auto clients = controller::ClientIdentities::parse(cfg.clientCertificates);
    if (!clients) {
        std::cerr << "certdeploy server: " << clients.error().message << '\n';
        return 2;
    }
    // The API's TLS: its certificate, and the CAs whose client certificates it asks for: clientCa's (API
    // clients) and, once it is open, the fleet CA's (agents renewing their certificates).
    std::vector<std::filesystem::path> client_cas;
    if (cfg.clientCa) {
        client_cas.push_back(*cfg.clientCa);
    }
    TlsFactory make_tls;
    if (cfg.tlsCert) {
        make_tls = [&cfg, &client_cas] { return api::make_tls_server(*cfg.tlsCert, *cfg.tlsKey, client_cas); };
        if (auto tls = make_tls(); !tls) {
            std::cerr << "certdeploy server: " << tls.error().message << '\n';
            return 2;
        }
    }
    log::init("server", cfg.logLevel);
    if (cfg.database && !cfg.uploadKeyFile) {
        // Whichever controller runs a target must open its upload: one key for all, never one each.
        std::cerr << "certdeploy server: database (PostgreSQL, shared by controllers) needs uploadKeyFile, the "
                     "upload key they all share (docs/SCALING.md)\n";
        return 2;
    }
    const DatabaseChoice database{cfg.dataDir, cfg.database, cfg.databasePasswordFile, cfg.databaseMaxConnections};
    auto opened = open_controller_database(database);
    if (opened.failure) {
        log::error("cannot open the database", {{"engine", database_engine(database)},
                                                {"dataDir", cfg.dataDir.string()},
                                                {"detail", opened.failure->message}});
        return opened.failure->exitCode;
    }
    std::shared_ptr<store::ControllerStore> store = std::move(opened.store);
    store::set_transaction_observer([](std::chrono::steady_clock::duration took, bool committed) {
        static auto& transactions = metrics::process_registry().histogram(
            "certdeploy_store_transaction_duration_seconds",
            "Each write transaction of the controller's store, from BEGIN to COMMIT or ROLLBACK, in seconds.",
            {"outcome"});
        transactions.with({committed ? "commit" : "rollback"}).observe(std::chrono::duration<double>(took).count());
    });
    auto vault = cfg.uploadKeyFile ? controller::UploadVault::open_keys(*cfg.uploadKeyFile, cfg.uploadPreviousKeyFiles)
                                   : controller::UploadVault::open(cfg.dataDir);
    auto pki = pki::PkiContext::create();
    if (!vault || !pki) {
        const auto& error = !vault ? vault.error() : pki.error();
        log::error("cannot start", {{"message", error.message}, {"detail", error.detail}});
        return 1;
    }
    // The fleet CA: made on the first start (key 0600); it issues the controller's client certificate.
    std::optional<pki::FleetCa> fleet;
    if (!own_pki) {
        auto fleet_ca = pki::FleetCa::open(cfg.dataDir / "pki", **pki, cfg.agentCa, cfg.agentCaKey);
        if (!fleet_ca) {
            log::error("cannot open the fleet CA",
                       {{"message", fleet_ca.error().message}, {"detail", fleet_ca.error().detail}});
            return 1;
        }
        fleet.emplace(std::move(*fleet_ca));
        auto tls = renew_client_tls(*fleet, cfg.agentClientCertLifetime);
        if (!tls) {
            log::error("cannot make the controller's client certificate", {{"message", tls.error().message}});
            return 1;
        }
        agent_tls = *tls ? std::move(*tls) : nullptr;
        if (!agent_tls) {
            auto current =
                api::make_mutual_tls_client(fleet->client_cert_file(), fleet->client_key_file(), fleet->ca_file());
            if (!current) {
                log::error("cannot use the controller's client certificate", {{"message", current.error().message}});
                return 1;
            }
            agent_tls = std::move(*current);
        }
        log::info("fleet CA", {{"file", fleet->ca_file().string()}, {"fingerprint", fleet->fingerprint()}});
        client_cas.push_back(fleet->ca_file());
    }
    auto trust = pki::TrustStore::create(*pki, cfg.caFiles);
    if (!trust) {
        log::error("cannot start", {{"message", trust.error().message}});
        return 1;
    }
    // The API's door: on the first start, an admin token in DATA_DIR/admin.token and nowhere else.
    controller::TokenService tokens(store);
    controller::AuditLog audit(store);
    controller::FailureThrottle throttle(10, std::chrono::minutes(1), std::chrono::seconds(30));
    const auto admin_token = cfg.dataDir / "admin.token";
    auto made = tokens.ensure_admin_token(admin_token);
    if (!made) {
        log::error("cannot make the admin token", {{"message", made.error().message}, {"detail", made.error().detail}});
        return 1;
    }
    if (*made) {
        log::info("admin token created", {{"file", admin_token.string()}});
    }
    controller::ServerRegistry servers(store);
    // Removed servers' agents are refused by fingerprint, even at an address registered again.
    controller::RevokedIdentities revoked;
    if (auto known = store->revoked_identities(); known) {
        revoked.add(*known);
    } else {
        log::error("cannot read the revoked identities", {{"detail", known.error().what}});
        return 1;
    }
    servers.set_revocations(&revoked);
    controller::JobService jobs(store, std::move(*vault), *pki, *trust, cfg.uploadRetention);
    for (const auto& [name, spec] : configured) {
        if (auto put = servers.put(name, spec); !put) {
            log::error("cannot register a configured server",
                       {{"server", name}, {"message", put.error().message}, {"detail", put.error().detail}});
            return 1;
        }
    }
    // Store work (fsync) never runs on an I/O thread: the HTTP handlers, the prober and the dispatcher
    // all send it here. Declared before the link, so it outlives every coroutine that uses it.
    boost::asio::thread_pool blocking(2);
    std::unique_ptr<api::AgentLink> link;
    std::unique_ptr<controller::AgentProber> prober;
    std::unique_ptr<controller::JobDispatcher> dispatcher;
    std::unique_ptr<store::JobWatch> job_watch;
    if (agent_tls) {
        link = std::make_unique<api::AgentLink>(agent_tls, cfg.agentTimeout);
        link->client().set_revocation_check([&revoked](SSL* connection) {
            return !revoked.empty() && revoked.contains(api::peer_fingerprint(connection));
        });
        prober = std::make_unique<controller::AgentProber>(link->context(), link->agents(), servers, blocking,
                                                           cfg.probeInterval);
        dispatcher = std::make_unique<controller::JobDispatcher>(
            link->context(), link->agents(), jobs, blocking,
            controller::DispatchOptions{cfg.maxParallelTargets, cfg.maxAttempts, cfg.retryDelay,
                                        std::chrono::seconds(60), cfg.attemptTimeout});
        // Before anything can start a target: those this controller left running when it stopped (and any
        // whose lease ended) become pending again, and every unfinished job's pending targets are queued.
        auto identity = controller_id(cfg.dataDir);
        if (!identity) {
            log::error("cannot start", {{"message", identity.error().message}, {"detail", identity.error().detail}});
            return 1;
        }
        jobs.set_claims(*identity, cfg.lease);
        auto resumed = jobs.runnable(std::nullopt, controller::JobService::Reclaim::orphans_and_own);
        if (!resumed) {
            log::error("cannot resume unfinished jobs", {{"message", resumed.error().message}});
            return 1;
        }
        prober->start();
        dispatcher->start(std::move(*resumed));
        if (fleet) {
            // Checked ten times a lifetime (at most hourly): renewed with a third of its life left.
            const auto every = std::clamp<std::chrono::milliseconds>(
                std::chrono::duration_cast<std::chrono::milliseconds>(cfg.agentClientCertLifetime) / 10,
                std::chrono::seconds(1), std::chrono::hours(1));
            link->keep_tls_fresh(
                [&fleet, lifetime = cfg.agentClientCertLifetime]() -> std::shared_ptr<boost::asio::ssl::context> {
                    auto fresh = renew_client_tls(*fleet, lifetime);
                    if (!fresh) {
                        log::error("cannot renew the controller's client certificate",
                                   {{"message", fresh.error().message}, {"detail", fresh.error().detail}});
                        return nullptr;
                    }
                    return *fresh;
                },
                every);
        }
        jobs.set_queue(dispatcher.get());
        // Jobs made or retried by other controllers on the same database (PostgreSQL) are queued at once.
        // Events written by another controller wake this one's streams following that job.
        job_watch = store->watch_jobs(
            [queue = dispatcher.get()](const std::string& id) { queue->job_ready(id); },
            [&jobs](const std::string& id) { jobs.bell().ring(id, controller::EventBell::Source::database); });
        link->start();
    }
    std::unique_ptr<controller::Enrolment> enrolment;
    if (fleet) {
        enrolment = std::make_unique<controller::Enrolment>(store, *fleet, servers, cfg.agentCertificateLifetime,
                                                            cfg.manualApproval);
    }
    api::Access access{tokens, *clients, audit, throttle, blocking};
    std::optional<SideListener> metrics_listener;
    if (cfg.metricsListen) {
        metrics_listener = SideListener{
            *cfg.metricsListen, [&](api::Router& router) { api::add_open_metrics_route(router, *store, blocking); }};
    }
    const int status = run_http_process(
        "server", cfg.http,
        [&](api::Router& router) {
            api::add_controller_routes(router, access, servers, blocking);
            api::add_fleet_routes(router, access, servers, link.get(), blocking);
            api::add_job_routes(router, access, jobs, servers, blocking);
            api::add_access_routes(router, access);
            api::add_enrolment_routes(router, access, enrolment.get());
            api::add_console_routes(router);
            api::add_metrics_route(router, access, *store, blocking);
        },
        make_tls, api::CorsPolicy{cfg.corsAllowedOrigins}, nullptr, metrics_listener);
    // Teardown order matters: stop the agents' thread (targets in flight stay `running` in the store and are
    // sent again at the next start); let store work finish (it posts into the stopped context); destroy the
    // dispatcher (its timer belongs to the context) and then the context, which destroys the suspended
    // coroutines without resuming them.
    job_watch.reset();  // before the dispatcher it posts to
    if (link) {
        link->stop();
    }
    blocking.join();
    jobs.set_queue(nullptr);
    dispatcher.reset();
    prober.reset();
    link.reset();
    return status;
}

}  // namespace certdeploy::cli
