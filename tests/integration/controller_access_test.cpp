// The controller's door, through its real HTTP API: every route of openapi.yaml (held equal to the
// router's table by the contract test) against no token, a viewer, an operator, an admin and an operator
// scoped to team=mail; expiry and revocation; the throttle on failed authentications; the audit log; the
// admin token file; and no secret anywhere on disk or in the log.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/fleet.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;
constexpr const char* kPassword = "P@ssw0rd1";
constexpr const char* kThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567";

struct Operation {
    std::string path;
    std::string method;
    std::string role;
};

// Every /v1 operation of openapi.yaml with its x-required-role.
std::vector<Operation> operations() {
    std::istringstream lines(read_file(CERTDEPLOY_SOURCE_DIR "/openapi.yaml"));
    std::vector<Operation> out;
    std::string line, path;
    const std::regex path_line(R"(^  (/\S+):$)"), method_line(R"(^    (get|put|post|delete):$)"),
        role_line(R"(^      x-required-role: (\w+)$)");
    std::smatch m;
    while (std::getline(lines, line)) {
        if (std::regex_match(line, m, path_line)) {
            path = m[1];
        } else if (std::regex_match(line, m, method_line) && path.rfind("/v1/", 0) == 0) {
            out.push_back({path, m[1], ""});
        } else if (std::regex_match(line, m, role_line) && !out.empty()) {
            out.back().role = m[1];
        }
    }
    return out;
}

int rank(const std::string& role) {
    return role == "viewer" ? 0 : role == "operator" ? 1 : 2;
}

std::string fill(std::string path, const std::string& server) {
    for (const auto& [param, value] :
         std::vector<std::pair<std::string, std::string>>{{"{name}", server},
                                                          {"{thumbprint}", kThumbprint},
                                                          {"{id}", "nojob"},
                                                          {"{tokenName}", "nobody"},
                                                          {"{joinTokenId}", "jt_nothing"}}) {
        if (auto pos = path.find(param); pos != std::string::npos) {
            path.replace(pos, param.size(), value);
        }
    }
    return path;
}

Response send(const Fleet& fleet, const std::string& method, const std::string& target, const std::string& token,
              const std::string& body = "{}", const std::string& source = {}) {
    http::request<http::string_body> req{http::string_to_verb(method == "get"    ? "GET"
                                                              : method == "put"  ? "PUT"
                                                              : method == "post" ? "POST"
                                                                                 : "DELETE"),
                                         target, 11};
    if (!token.empty()) {
        req.set(http::field::authorization, "Bearer " + token);
    }
    if (method != "get" && method != "delete") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    HttpClient client(fleet.address(), std::nullopt, source);
    return client.send(std::move(req), 30s);
}

std::string code_of(const Response& res) {
    auto body = json::parse(res.body(), nullptr, false);
    return body.is_object() && body.contains("code") ? body["code"].get<std::string>() : "";
}

// Makes a token over the API with the admin token; answers its secret.
std::string make_token(Fleet& fleet, const json& spec) {
    auto res = fleet.call(http::verb::post, "/v1/tokens", spec);
    REQUIRE(res.result() == http::status::created);
    CHECK(res[http::field::cache_control] == "no-store");
    const auto token = json::parse(res.body())["token"].get<std::string>();
    CHECK(std::regex_match(token, std::regex("cdp_[A-Za-z0-9_-]{43}")));
    return token;
}

Fleet team_fleet() {
    return Fleet({{"ex01", "ex02"},
                  {{"ex01", {{"team", "mail"}}}, {"ex02", {{"team", "web"}}}},
                  json::object(),
                  (kCorpus / "root.pem").string(),
                  {}});
}

}  // namespace

TEST_CASE("every route against no token, each role and a scoped operator") {
    auto fleet = team_fleet();
    const std::map<std::string, std::string> tokens{
        {"viewer", make_token(fleet, {{"name", "ci-viewer"}, {"role", "viewer"}})},
        {"operator", make_token(fleet, {{"name", "ci-operator"}, {"role", "operator"}})},
        {"admin", fleet.admin_token()},
    };
    const auto scoped = make_token(fleet, {{"name", "mail-ci"}, {"role", "operator"}, {"scope", {{"team", "mail"}}}});
    const auto ops = operations();
    REQUIRE(ops.size() >= 20);
    for (const auto& op : ops) {
        CAPTURE(op.method);
        CAPTURE(op.path);
        REQUIRE_FALSE(op.role.empty());
        // Deleting a real server would change the fleet under the other checks: a ghost answers 404 past the
        // door just as well.
        const std::string server = op.method == "delete" ? "ghost" : "ex01";
        const auto target = fill(op.path, server);

        auto anonymous = send(fleet, op.method, target, "");
        CHECK(anonymous.result() == http::status::unauthorized);
        CHECK(code_of(anonymous) == "unauthenticated");
        CHECK(std::string(anonymous[http::field::www_authenticate]).rfind("Bearer", 0) == 0);
        // From an address of its own each time: these are failed authentications, which the throttle counts.
        auto unknown = send(fleet, op.method, target, "cdp_" + std::string(43, 'A'), "{}",
                            "127.0.1." + std::to_string(&op - ops.data() + 1));
        CHECK(unknown.result() == http::status::unauthorized);

        for (const auto& [role, token] : tokens) {
            CAPTURE(role);
            auto res = send(fleet, op.method, target, token);
            if (rank(role) >= rank(op.role)) {
                CHECK(res.result() != http::status::unauthorized);
                CHECK(res.result() != http::status::forbidden);
            } else {
                CHECK(res.result() == http::status::forbidden);
                CHECK(code_of(res) == "forbidden");
                CHECK(json::parse(res.body())["detail"].get<std::string>().find(op.role) != std::string::npos);
            }
        }
        // The scoped operator: an operator inside team=mail (ex01), refused for ex02 by scope.
        auto inside = send(fleet, op.method, target, scoped);
        if (rank(op.role) > rank("operator")) {
            CHECK(code_of(inside) == "forbidden");
        } else {
            CHECK(inside.result() != http::status::forbidden);
            if (op.path.find("{name}") != std::string::npos && op.method != "delete") {
                auto outside = send(fleet, op.method, fill(op.path, "ex02"), scoped);
                CHECK(outside.result() == http::status::forbidden);
                CHECK(code_of(outside) == "out-of-scope");
                CHECK(json::parse(outside.body())["detail"].get<std::string>().find("ex02") != std::string::npos);
            }
        }
    }
    CHECK(fleet.controller_log().find("\"component\":\"audit\"") != std::string::npos);
}

TEST_CASE("a scoped operator deploys only to its team's servers and sees only them") {
    auto fleet = team_fleet();
    const auto scoped = make_token(fleet, {{"name", "mail-ci"}, {"role", "operator"}, {"scope", {{"team", "mail"}}}});
    const auto pfx = read_file(kCorpus / "modern.pfx");
    const auto form = [&](const std::string& servers, bool dry) {
        std::vector<FormField> fields{
            {"file", pfx, "modern.pfx"}, {"password", kPassword, ""}, {"servers", servers, ""}};
        if (dry) {
            fields.push_back({"dryRun", "true", ""});
        }
        return fleet.post_form("/v1/imports", fields, {{"Authorization", "Bearer " + scoped}});
    };
    auto other_team = form("ex01,ex02", false);
    CHECK(other_team.result() == http::status::forbidden);
    CHECK(code_of(other_team) == "out-of-scope");
    CHECK(json::parse(other_team.body())["detail"].get<std::string>().find("ex02") != std::string::npos);
    auto every = form("*", true);  // "*": every server it reaches
    REQUIRE(every.result() == http::status::ok);
    const auto plan = json::parse(every.body());
    REQUIRE(plan["servers"].size() == 1);
    CHECK(plan["servers"][0]["name"] == "ex01");

    auto deployed = form("*", false);
    REQUIRE(deployed.result() == http::status::accepted);
    const auto job = json::parse(deployed.body())["id"].get<std::string>();
    fleet.wait_until_final(job);

    auto listed = json::parse(send(fleet, "get", "/v1/servers", scoped).body());
    REQUIRE(listed["servers"].size() == 1);
    CHECK(listed["servers"][0]["name"] == "ex01");
    auto jobs = json::parse(send(fleet, "get", "/v1/jobs", scoped).body());
    CHECK(jobs["jobs"].size() == 1);
    // A job of the admin's on both servers is out of its reach.
    auto both = fleet.call(http::verb::post, "/v1/certificates/" + std::string(kThumbprint) + "/remove",
                           {{"servers", {"ex01", "ex02"}}});
    REQUIRE(both.result() == http::status::accepted);
    const auto admin_job = json::parse(both.body())["id"].get<std::string>();
    CHECK(code_of(send(fleet, "get", "/v1/jobs/" + admin_job, scoped)) == "out-of-scope");
    CHECK(json::parse(send(fleet, "get", "/v1/jobs", scoped).body())["jobs"].size() == 1);
}

TEST_CASE("tokens expire, are revoked, are kept only as hashes, and failures are throttled per address") {
    auto fleet = team_fleet();
    const auto expiring = make_token(
        fleet, {{"name", "short"}, {"role", "viewer"}, {"expiresAt", [] {
                                                            const auto t = std::chrono::system_clock::to_time_t(
                                                                std::chrono::system_clock::now() + 2s);
                                                            char buf[32];
                                                            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ",
                                                                          std::gmtime(&t));
                                                            return std::string(buf);
                                                        }()}});
    const auto revoked = make_token(fleet, {{"name", "gone"}, {"role", "viewer"}});
    CHECK(send(fleet, "get", "/v1/servers", expiring).result() == http::status::ok);
    CHECK(send(fleet, "get", "/v1/servers", revoked).result() == http::status::ok);
    CHECK(fleet.call(http::verb::delete_, "/v1/tokens/gone").result() == http::status::no_content);
    CHECK(code_of(send(fleet, "get", "/v1/servers", revoked)) == "token-revoked");
    CHECK(code_of(fleet.call(http::verb::delete_, "/v1/tokens/gone")) == "token-not-found");
    std::this_thread::sleep_for(3s);
    auto expired = send(fleet, "get", "/v1/servers", expiring);
    CHECK(expired.result() == http::status::unauthorized);
    CHECK(code_of(expired) == "token-expired");

    // The list never shows a secret; a name in use is refused.
    auto list = fleet.call(http::verb::get, "/v1/tokens");
    CHECK(list.body().find("cdp_") == std::string::npos);
    CHECK(json::parse(list.body())["tokens"].size() == 3);  // admin, short, gone
    CHECK(code_of(fleet.call(http::verb::post, "/v1/tokens", {{"name", "short"}, {"role", "viewer"}})) ==
          "token-exists");
    CHECK(code_of(fleet.call(http::verb::post, "/v1/tokens",
                             {{"name", "boss"}, {"role", "admin"}, {"scope", {{"team", "mail"}}}})) ==
          "invalid-request");

    // The admin token file: 0600, one line, the token and nothing else.
    struct stat st {};
    REQUIRE(::stat(fleet.admin_token_file().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(std::regex_match(read_file(fleet.admin_token_file()), std::regex("cdp_[A-Za-z0-9_-]{43}\n")));

    // Ten wrong tokens from 127.0.0.4: the eleventh request waits, even with a good token; 127.0.0.2 does not.
    for (int i = 0; i < 10; ++i) {
        CHECK(send(fleet, "get", "/v1/servers", "cdp_wrong" + std::to_string(i), "{}", "127.0.0.4").result() ==
              http::status::unauthorized);
    }
    auto throttled = send(fleet, "get", "/v1/servers", fleet.admin_token(), "{}", "127.0.0.4");
    CHECK(throttled.result() == http::status::too_many_requests);
    CHECK(code_of(throttled) == "too-many-requests");
    CHECK(std::stoi(std::string(throttled[http::field::retry_after])) > 0);
    CHECK(send(fleet, "get", "/v1/servers", fleet.admin_token(), "{}", "127.0.0.2").result() == http::status::ok);

    // certdeploy token, on the machine: made beside the running controller, listed without secrets.
    TempDir dir;
    auto made = run_certdeploy(
        {"token", "create", "night-ops", "--role", "operator", "--data-dir", fleet.data_dir().string()}, dir.path());
    REQUIRE(made.status.code == 0);
    const auto secret = made.out.substr(0, made.out.find('\n'));
    CHECK(send(fleet, "get", "/v1/jobs", secret, "{}", "127.0.0.2").result() == http::status::ok);
    // Its use is recorded (lastUsedAt) by the store's threads while the request goes on: soon, not at once.
    auto last_used = [&] {
        const auto tokens =
            json::parse(send(fleet, "get", "/v1/tokens", fleet.admin_token(), "{}", "127.0.0.2").body());
        for (const auto& token : tokens["tokens"]) {
            if (token["name"] == "night-ops") {
                return token["lastUsedAt"];
            }
        }
        return json();
    };
    for (int i = 0; i < 100 && last_used().is_null(); ++i) {
        std::this_thread::sleep_for(50ms);
    }
    CHECK(last_used().is_string());
    auto listed = run_certdeploy({"token", "list", "--data-dir", fleet.data_dir().string()}, dir.path());
    CHECK(listed.out.find("night-ops\toperator") != std::string::npos);
    CHECK(listed.out.find("cdp_") == std::string::npos);
    CHECK(run_certdeploy({"token", "revoke", "night-ops", "--data-dir", fleet.data_dir().string()}, dir.path())
              .status.code == 0);
    CHECK(code_of(send(fleet, "get", "/v1/jobs", secret, "{}", "127.0.0.2")) == "token-revoked");
    CHECK(
        run_certdeploy({"token", "create", "x", "--role", "root", "--data-dir", fleet.data_dir().string()}, dir.path())
            .status.code == 2);
}

TEST_CASE("the audit log records changes, exports and refusals, and no secret lands on disk or in the log") {
    auto fleet = team_fleet();
    const auto viewer = make_token(fleet, {{"name", "watcher"}, {"role", "viewer"}});
    const auto operator_token = make_token(fleet, {{"name", "deployer"}, {"role", "operator"}});
    const auto pfx = read_file(kCorpus / "modern.pfx");
    auto accepted = fleet.post_form("/v1/imports",
                                    {{"file", pfx, "modern.pfx"},
                                     {"password", kPassword, ""},
                                     {"servers", "*", ""},
                                     {"privateKeyExportable", "true", ""}},
                                    {{"Authorization", "Bearer " + operator_token}});
    REQUIRE(accepted.result() == http::status::accepted);
    const auto job = json::parse(accepted.body());
    const auto id = job["id"].get<std::string>();
    const auto thumbprint = job["thumbprint"].get<std::string>();
    fleet.wait_until_final(id);
    CHECK(send(fleet, "post", "/v1/imports", viewer).result() == http::status::forbidden);
    CHECK(fleet
              .call(http::verb::put, "/v1/servers/ex03",
                    {{"agentUrl", "https://10.0.0.13:9001"}, {"labels", {{"team", "edge"}}}})
              .result() == http::status::created);
    const std::string export_password = "Export-Secret-42";
    auto exported = fleet.call(http::verb::post, "/v1/servers/ex01/certificates/" + thumbprint + "/export",
                               {{"password", export_password}});
    REQUIRE(exported.result() == http::status::ok);
    CHECK(exported[http::field::cache_control] == "no-store");
    CHECK(send(fleet, "get", "/v1/servers", "cdp_" + std::string(43, 'B')).result() == http::status::unauthorized);

    const auto audit = json::parse(fleet.call(http::verb::get, "/v1/audit").body());
    const auto find = [&](const std::string& route, const std::string& method) {
        for (const auto& entry : audit["entries"]) {
            if (entry["route"] == route && entry["method"] == method) {
                return entry;
            }
        }
        return json();
    };
    const auto import_entry = find("/v1/imports", "POST");
    REQUIRE(import_entry.is_object());
    CHECK(import_entry["token"] == "watcher");  // the newest: the viewer's refusal
    CHECK(import_entry["code"] == "forbidden");
    CHECK(import_entry["status"] == 403);
    auto imports = json::parse(fleet.call(http::verb::get, "/v1/audit?token=deployer").body())["entries"];
    REQUIRE(imports.size() == 1);
    CHECK(imports[0]["job"] == id);
    CHECK(imports[0]["status"] == 202);
    CHECK(imports[0]["client"] == "127.0.0.1");
    const auto put = find("/v1/servers/{name}", "PUT");
    CHECK(put["server"] == "ex03");
    CHECK(put["token"] == "admin");
    const auto export_entry = find("/v1/servers/{name}/certificates/{thumbprint}/export", "POST");
    CHECK(export_entry["server"] == "ex01");
    CHECK(export_entry["thumbprint"] == thumbprint);
    CHECK(export_entry["status"] == 200);
    const auto refused = json::parse(fleet.call(http::verb::get, "/v1/audit?outcome=refused").body())["entries"];
    bool unknown_token = false;
    for (const auto& entry : refused) {
        CHECK(entry["status"].get<int>() >= 400);
        unknown_token = unknown_token || (entry["code"] == "unauthenticated" && entry["token"].is_null());
    }
    CHECK(unknown_token);
    CHECK(code_of(fleet.call(http::verb::get, "/v1/audit?since=yesterday")) == "invalid-request");

    // No token, password or key anywhere in the data directory (but the admin token's own file) or the log.
    std::vector<std::string> secrets{viewer, operator_token, kPassword, export_password};
    std::string everything = fleet.controller_log();
    for (const auto& entry : std::filesystem::recursive_directory_iterator(fleet.data_dir())) {
        if (entry.is_regular_file() && entry.path().filename() != "admin.token") {
            everything += read_file(entry.path());
        }
    }
    everything += fleet.controller_log();
    CHECK(everything.find(fleet.admin_token()) == std::string::npos);
    for (const auto& secret : secrets) {
        CHECK(everything.find(secret) == std::string::npos);
    }
    CHECK(everything.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("an agent accepts only the controller: another agent's own certificate is refused") {
    Fleet fleet({{"ex01", "ex02"}, {}, json::object(), "", {}});
    const auto pki = fleet.dir() / "pki";
    // ex01's serverAuth certificate, issued by the same CA, presented to ex02 as a client.
    const TlsClientFiles as_ex01{(pki / "ca.pem").string(), (pki / "agents" / "ex01.pem").string(),
                                 (pki / "agents" / "ex01.key").string()};
    bool refused = false;
    try {
        HttpClient client(fleet.agent_address("ex02"), as_ex01);
        auto res = client.request(http::verb::get, "/agent/v1/health");
        refused = res.result() != http::status::ok;
    } catch (const std::exception&) {
        refused = true;  // the handshake failed: no clientAuth in that certificate
    }
    CHECK(refused);
    const TlsClientFiles as_controller{(pki / "ca.pem").string(), (pki / "controller.pem").string(),
                                       (pki / "controller.key").string()};
    CHECK(http_get(fleet.agent_address("ex02"), "/agent/v1/health", as_controller).result() == http::status::ok);
}
