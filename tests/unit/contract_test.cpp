// openapi.yaml stays exact about problem codes (every code the service can answer is listed there, and
// nothing listed there is unknown to the service) and about who may call what (every route of the
// controller's router has a role, the one its operation names in x-required-role, and the reverse).

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "api/controller/controller_routes.hpp"
#include "api/controller/metrics_routes.hpp"
#include "service/controller/access/audit_log.hpp"
#include "service/controller/access/failure_throttle.hpp"
#include "service/controller/access/token_service.hpp"
#include "service/controller/enrolment/enrolment.hpp"
#include "service/error.hpp"
#include "service/pki/fleet_ca.hpp"
#include "tests/support/temp_dir.hpp"

TEST_CASE("every problem code is in openapi.yaml, and every code there exists") {
    const std::string spec = certdeploy::test::read_file(CERTDEPLOY_SOURCE_DIR "/openapi.yaml");
    std::vector<std::string> codes;
#define CERTDEPLOY_CODE(name, str, title) codes.emplace_back(str);
    CERTDEPLOY_ERROR_CODES(CERTDEPLOY_CODE)
#undef CERTDEPLOY_CODE
    // The Problem schema's code enum: the lines "            - some-code" after its "code:".
    const auto start = spec.find("        code:\n", spec.find("\n    Problem:\n"));
    REQUIRE(start != std::string::npos);
    const auto end = spec.find("        instance:", start);
    const std::string block = spec.substr(start, end - start);
    std::vector<std::string> listed;
    const std::regex item(R"(\n\s+- ([a-z-]+))");
    for (auto it = std::sregex_iterator(block.begin(), block.end(), item); it != std::sregex_iterator(); ++it) {
        listed.push_back((*it)[1]);
    }
    for (const auto& code : codes) {
        CAPTURE(code);
        if (code == "invalid-config") {
            continue;  // reported at start-up, on the command line; never over HTTP
        }
        CHECK(std::find(listed.begin(), listed.end(), code) != listed.end());
    }
    for (const auto& code : listed) {
        CAPTURE(code);
        CHECK(std::find(codes.begin(), codes.end(), code) != codes.end());
    }
}

namespace {

// (path, method) -> x-required-role of every /v1 operation in openapi.yaml.
std::map<std::pair<std::string, std::string>, std::string> openapi_roles(const std::string& spec) {
    std::map<std::pair<std::string, std::string>, std::string> roles;
    std::istringstream lines(spec);
    std::string line, path, method;
    const std::regex path_line(R"(^  (/\S+):$)"), method_line(R"(^    (get|put|post|delete|patch):$)"),
        role_line(R"(^      x-required-role: (\w+)$)");
    std::smatch m;
    while (std::getline(lines, line)) {
        if (std::regex_match(line, m, path_line)) {
            path = m[1];
            method.clear();
        } else if (std::regex_match(line, m, method_line)) {
            method = m[1];
            if (path.rfind("/v1/", 0) == 0) {
                roles[{path, method}] = "";  // present, role still to be read
            }
        } else if (std::regex_match(line, m, role_line) && !method.empty()) {
            roles[{path, method}] = m[1];
        }
    }
    return roles;
}

}  // namespace

TEST_CASE("every route of the controller has a role, and it is the one openapi.yaml names") {
    using namespace certdeploy;
    test::TempDir dir;
    auto store = std::shared_ptr<store::ControllerStore>(store::open_sqlite_controller_store(dir.path()).value());
    auto pki = pki::PkiContext::create().value();
    controller::ServerRegistry servers(store);
    controller::JobService jobs(store, controller::UploadVault::open(dir.path()).value(), pki,
                                pki::TrustStore::create(pki, {}).value(), std::chrono::hours(1));
    controller::TokenService tokens(store);
    controller::AuditLog audit(store);
    controller::FailureThrottle throttle(10, std::chrono::minutes(1), std::chrono::seconds(30));
    boost::asio::thread_pool pool(1);
    const controller::ClientIdentities clients;
    api::Access access{tokens, clients, audit, throttle, pool};
    api::Router router;
    api::add_controller_routes(router, access, servers, pool);
    api::add_fleet_routes(router, access, servers, nullptr, pool);
    api::add_job_routes(router, access, jobs, servers, pool);
    api::add_access_routes(router, access);
    const auto fleet = pki::FleetCa::open(dir / "pki", *pki).value();
    controller::Enrolment enrolment(store, fleet, servers, std::chrono::hours(24));
    api::add_enrolment_routes(router, access, &enrolment);
    api::add_metrics_route(router, access, *store, pool);

    const auto spec = test::read_file(CERTDEPLOY_SOURCE_DIR "/openapi.yaml");
    auto documented = openapi_roles(spec);
    REQUIRE_FALSE(documented.empty());
    std::set<std::pair<std::string, std::string>> routed;
    for (const auto& route : router.routes()) {
        std::string method(api::http::to_string(route.method));
        std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
        CAPTURE(route.pattern);
        CAPTURE(method);
        if (route.pattern.rfind("/v1/", 0) != 0 && route.pattern != "/metrics") {
            // The enrolment routes: opened by a join token or an agent's certificate, not an API token.
            CHECK(spec.find("\n  " + route.pattern + ":\n") != std::string::npos);
            continue;
        }
        CHECK((route.access == "viewer" || route.access == "operator" || route.access == "admin"));
        auto it = documented.find({route.pattern, method});
        REQUIRE_MESSAGE(it != documented.end(), "a route openapi.yaml does not list");
        CHECK(it->second == route.access);
        routed.insert({route.pattern, method});
    }
    for (const auto& [operation, role] : documented) {
        CAPTURE(operation.first);
        CHECK_MESSAGE(routed.count(operation) == 1, "openapi.yaml lists an operation the router does not have");
    }
    pool.join();
}
