// Certificate requests made on the agents (New-ExchangeCertificate -GenerateRequest across the fleet), signed
// by a CA that is OpenSSL run by the test, and completed by one upload of the CA's answers naming no server:
// real agent processes over mutual TLS, the real API, real files.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// `openssl ...` in `dir`; fails the test when it fails.
void openssl(const std::filesystem::path& dir, const std::string& args) {
    const std::string command = "cd '" + dir.string() + "' && openssl " + args + " 2>>openssl.log";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
}

// A CA of the test's own, as an administrator's CA would answer a request: its root and key in `dir`.
void make_ca(const std::filesystem::path& dir) {
    // Debian's openssl.cnf gives a self-signed certificate v3_ca's extensions: basicConstraints CA:true.
    openssl(dir, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=Test Request CA'");
}

// The CA's answer to `csr`: a certificate with the request's names (PEM, in `name`.pem).
void sign(const std::filesystem::path& dir, const std::string& csr, const std::string& name) {
    write_file(dir / (name + ".csr"), csr);
    openssl(dir, "x509 -req -in " + name +
                     ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 -copy_extensions "
                     "copy -out " +
                     name + ".pem");
}

std::string read_all(const std::filesystem::path& path) {
    return read_file(path);
}

// Every file under `root`, read whole.
std::vector<std::pair<std::filesystem::path, std::string>> files_under(const std::filesystem::path& root) {
    std::vector<std::pair<std::filesystem::path, std::string>> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) {
            out.emplace_back(entry.path(), read_all(entry.path()));
        }
    }
    return out;
}

// The body of a PEM block without its armour and line breaks: how a key's bytes would show up anywhere.
std::string pem_body(const std::string& pem) {
    std::string body;
    std::size_t pos = pem.find('\n');
    while (pos != std::string::npos && pos + 1 < pem.size()) {
        auto end = pem.find('\n', pos + 1);
        auto line = pem.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
        if (line.rfind("-----", 0) != 0) {
            body += line;
        }
        pos = end;
    }
    return body;
}

}  // namespace

TEST_CASE(
    "certificate requests: made on three servers, answered by a CA in one upload, each completed where its key is") {
    TempDir ca;
    make_ca(ca.path());
    Fleet fleet({server_names(3), {}, json::object(), (ca / "ca.pem").string(), {}});
    std::vector<std::string> responses;  // every answer the controller gave, searched for key bytes at the end
    const auto call = [&](http::verb method, const std::string& target, const json& body = nullptr) {
        auto res = fleet.call(method, target, body);
        responses.push_back(res.body());
        return res;
    };

    // Refused before anything is made, each error naming its field.
    const json asked{{"subject", "CN=mail.contoso.com, O=Contoso, C=US"},
                     {"domains", {"mail.contoso.com", "autodiscover.contoso.com"}},
                     {"keyAlgorithm", "RSA"},
                     {"keySize", 2048},
                     {"friendlyName", "Contoso 2027"},
                     {"privateKeyExportable", true},
                     {"servers", "*"}};
    for (const auto& [field, value, code] : std::vector<std::tuple<std::string, json, std::string>>{
             {"subject", "CN=mail.contoso.com, C=USA", "invalid-subject"},
             {"subject", "XX=nothing", "invalid-subject"},
             {"domains", json{"mail.contoso.com", "not a name"}, "invalid-domain"},
             {"keySize", 1024, "invalid-key-parameters"},
             {"keyAlgorithm", "DSA", "invalid-key-parameters"}}) {
        json bad = asked;
        bad[field] = value;
        auto refused = call(http::verb::post, "/v1/requests", bad);
        CAPTURE(refused.body());
        CHECK(refused.result() == http::status::unprocessable_entity);
        const auto problem = json::parse(refused.body());
        CHECK(problem["code"] == code);
        CHECK(problem["detail"].get<std::string>().find("\"" + field + "\"") != std::string::npos);
    }
    CHECK(json::parse(call(http::verb::get, "/v1/jobs").body())["jobs"].empty());

    // One call: a request on every server, each with its own key pair.
    auto made = call(http::verb::post, "/v1/requests", asked);
    REQUIRE(made.result() == http::status::accepted);
    auto job = fleet.wait_until_final(json::parse(made.body())["id"]);
    CHECK(job["kind"] == "request");
    CHECK(job["state"] == "succeeded");
    CHECK(job["options"]["subject"] == "CN=mail.contoso.com, O=Contoso, C=US");
    for (const auto& name : server_names(3)) {
        CHECK(target(job, name)["report"]["result"] == "requested");
        CHECK(target(job, name)["report"]["status"] == "PendingRequest");
    }
    auto listed = json::parse(call(http::verb::get, "/v1/requests").body());
    REQUIRE(listed["requests"].size() == 3);
    std::map<std::string, json> requests;  // by server
    std::set<std::string> keys;
    for (const auto& request : listed["requests"]) {
        requests[request["server"]] = request;
        keys.insert(request["publicKeySha256"].get<std::string>());
        CHECK(request["subject"] == "CN=mail.contoso.com, O=Contoso, C=US");
        CHECK(request["certificateDomains"] == json{"mail.contoso.com", "autodiscover.contoso.com"});
        CHECK(request["keyAlgorithm"] == "RSA");
        CHECK(request["publicKeySize"] == 2048);
        CHECK(request["certificateRequest"].get<std::string>().rfind("-----BEGIN CERTIFICATE REQUEST-----", 0) == 0);
    }
    CHECK(keys.size() == 3);  // a key pair per server
    // The agent lists it with its certificates, as Exchange shows a pending request.
    auto on_ex01 = json::parse(call(http::verb::get, "/v1/servers/ex01/certificates").body());
    bool pending_listed = false;
    for (const auto& cert : on_ex01["certificates"]) {
        pending_listed =
            pending_listed || (cert["status"] == "PendingRequest" && cert["thumbprint"] == requests["ex01"]["id"]);
    }
    CHECK(pending_listed);
    // One server's request as a file for the CA.
    auto csr_file = call(http::verb::get, "/v1/servers/ex02/requests/" + requests["ex02"]["id"].get<std::string>());
    REQUIRE(csr_file.result() == http::status::ok);
    CHECK(csr_file[http::field::content_type] == "application/pkcs10");
    CHECK(csr_file.body() == requests["ex02"]["certificateRequest"]);
    CHECK(call(http::verb::get, "/v1/servers/ex01/requests/" + requests["ex02"]["id"].get<std::string>()).result() ==
          http::status::not_found);

    // The CA signs the three; its answers come back as a PEM with CRLF, a DER .cer and a .p7b with the chain.
    for (const auto& name : server_names(3)) {
        sign(ca.path(), requests[name]["certificateRequest"], name);
    }
    std::string crlf;
    for (char c : read_all(ca / "ex01.pem")) {
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    }
    openssl(ca.path(), "x509 -in ex02.pem -outform DER -out ex02.cer");
    openssl(ca.path(), "crl2pkcs7 -nocrl -certfile ex03.pem -certfile ca.pem -outform DER -out ex03.p7b");
    const std::vector<FormField> answers{{"file", crlf, "ex01.crt"},
                                         {"file", read_all(ca / "ex02.cer"), "ex02.cer"},
                                         {"file", read_all(ca / "ex03.p7b"), "ex03.p7b"}};

    // An answer to no request, among them: 422 naming it, and none of the three is imported.
    openssl(ca.path(), "req -newkey rsa:2048 -nodes -keyout stray.key -out stray.csr -subj /CN=stray.contoso.com");
    openssl(ca.path(), "x509 -req -in stray.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 -out stray.pem");
    auto with_stray = answers;
    with_stray.push_back({"file", read_all(ca / "stray.pem"), "stray.pem"});
    auto stray = fleet.post_form("/v1/imports", with_stray);
    CHECK(stray.result() == http::status::unprocessable_entity);
    CHECK(json::parse(stray.body())["code"] == "no-matching-request");
    CHECK(json::parse(stray.body())["detail"].get<std::string>().find("CN=stray.contoso.com") != std::string::npos);
    CHECK(json::parse(call(http::verb::get, "/v1/jobs?state=queued").body())["jobs"].empty());
    CHECK(json::parse(call(http::verb::get, "/v1/requests").body())["requests"].size() == 3);

    // The dry run of one answer shows the server it would complete.
    auto plan = fleet.post_form("/v1/imports?dryRun=true", {answers[1]});
    REQUIRE(plan.result() == http::status::ok);
    const auto planned = json::parse(plan.body())["servers"];
    REQUIRE(planned.size() == 1);
    CHECK(planned[0]["name"] == "ex02");

    // The three answers in one call, naming no server: each goes where its request is.
    auto imported = fleet.post_form("/v1/imports", answers, {{"Idempotency-Key", "answers-1"}});
    responses.push_back(imported.body());
    REQUIRE(imported.result() == http::status::accepted);
    const auto jobs = json::parse(imported.body())["jobs"];
    REQUIRE(jobs.size() == 3);
    std::map<std::string, std::string> thumbprints;  // by server
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const auto name = server_names(3)[i];
        auto done = fleet.wait_until_final(jobs[i]["id"]);
        CHECK(done["state"] == "succeeded");
        REQUIRE(done["targets"].size() == 1);
        CHECK(target(done, name)["report"]["result"] == "completed");
        CHECK(target(done, name)["report"]["status"] == "Valid");
        thumbprints[name] = done["thumbprint"];
    }
    for (const auto& name : server_names(3)) {
        auto valid = json::parse(call(http::verb::get, "/v1/servers/" + name + "/certificates?status=Valid").body());
        bool found = false;
        for (const auto& cert : valid["certificates"]) {
            if (cert["thumbprint"] == thumbprints[name]) {
                found = true;
                CHECK(cert["hasPrivateKey"] == true);
                CHECK(cert["friendlyName"] == "Contoso 2027");
                CHECK(cert["privateKeyExportable"] == true);
                CHECK(cert["publicKeySha256"] == requests[name]["publicKeySha256"]);
            }
        }
        CHECK(found);
    }
    CHECK(json::parse(call(http::verb::get, "/v1/requests").body())["requests"].empty());
    // The same call again, with its key, once the requests are completed: the same jobs, nothing done again.
    auto replayed = fleet.post_form("/v1/imports", answers, {{"Idempotency-Key", "answers-1"}});
    REQUIRE(replayed.result() == http::status::accepted);
    CHECK(replayed["Idempotent-Replayed"] == "true");
    const auto replayed_jobs = json::parse(replayed.body())["jobs"];
    REQUIRE(replayed_jobs.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(replayed_jobs[i]["id"] == jobs[i]["id"]);
    }
    auto reused =
        fleet.post_form("/v1/imports", {answers[1], answers[0], answers[2]}, {{"Idempotency-Key", "answers-1"}});
    CHECK(reused.result() == http::status::conflict);
    CHECK(json::parse(reused.body())["code"] == "idempotency-conflict");
    auto inventory = json::parse(call(http::verb::get, "/v1/certificates?status=PendingRequest").body());
    CHECK(inventory["certificates"].empty());

    // Completed once: imported again it is alreadyInstalled there; naming no server, it has no request left.
    auto again = fleet.post_form("/v1/imports", {answers[0], {"servers", "ex01", ""}});
    REQUIRE(again.result() == http::status::accepted);
    CHECK(target(fleet.wait_until_final(json::parse(again.body())["id"]), "ex01")["report"]["result"] ==
          "alreadyInstalled");
    auto twice = fleet.post_form("/v1/imports", {answers[0]});
    CHECK(twice.result() == http::status::unprocessable_entity);
    CHECK(json::parse(twice.body())["code"] == "no-matching-request");

    // Renew: the same subject, domains and key parameters, on the server that holds the certificate.
    auto renew = call(http::verb::post, "/v1/certificates/" + thumbprints["ex02"] + "/renew");
    REQUIRE(renew.result() == http::status::accepted);
    auto renewal = fleet.wait_until_final(json::parse(renew.body())["id"]);
    CHECK(renewal["kind"] == "request");
    CHECK(renewal["thumbprint"] == thumbprints["ex02"]);
    CHECK(renewal["targets"].size() == 1);
    listed = json::parse(call(http::verb::get, "/v1/requests").body());
    REQUIRE(listed["requests"].size() == 1);
    const auto renewed = listed["requests"][0];
    CHECK(renewed["server"] == "ex02");
    CHECK(renewed["subject"] == "CN=mail.contoso.com, O=Contoso, C=US");
    CHECK(renewed["certificateDomains"] == json{"mail.contoso.com", "autodiscover.contoso.com"});
    CHECK(renewed["keyAlgorithm"] == "RSA");
    CHECK(renewed["publicKeySize"] == 2048);
    CHECK(renewed["publicKeySha256"] != requests["ex02"]["publicKeySha256"]);  // a new key pair
    CHECK(call(http::verb::post, "/v1/certificates/" + std::string(40, 'A') + "/renew").result() ==
          http::status::not_found);

    // A pending request removed: its key goes with it.
    const std::string renewed_id = renewed["id"];
    REQUIRE(std::filesystem::exists(fleet.dir() / "store-ex02" / renewed_id / "key.pem"));
    auto removed = call(http::verb::post, "/v1/certificates/" + renewed_id + "/remove", {{"servers", "ex02"}});
    REQUIRE(removed.result() == http::status::accepted);
    CHECK(fleet.wait_until_final(json::parse(removed.body())["id"])["state"] == "succeeded");
    CHECK(json::parse(call(http::verb::get, "/v1/requests").body())["requests"].empty());
    CHECK_FALSE(std::filesystem::exists(fleet.dir() / "store-ex02" / renewed_id));

    // Each private key is in its own server's store (0600) and nowhere else: not on another server, not in
    // any controller file, not in any answer.
    fleet.stop_controller();
    const auto controller_files = files_under(fleet.data_dir());
    for (const auto& name : server_names(3)) {
        const auto key_path = fleet.dir() / ("store-" + name) / thumbprints[name] / "key.pem";
        REQUIRE(std::filesystem::exists(key_path));
        CHECK((std::filesystem::status(key_path).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        const auto key = pem_body(read_all(key_path));
        REQUIRE(key.size() > 100);
        const auto fragment = key.substr(40, 64);
        for (const auto& other : server_names(3)) {
            if (other == name) {
                continue;
            }
            for (const auto& [path, bytes] : files_under(fleet.dir() / ("store-" + other))) {
                CAPTURE(path);
                CHECK(bytes.find(fragment) == std::string::npos);
            }
        }
        for (const auto& [path, bytes] : controller_files) {
            CAPTURE(path);
            CHECK(bytes.find(fragment) == std::string::npos);
        }
        CHECK(fleet.controller_log().find(fragment) == std::string::npos);
        for (const auto& body : responses) {
            CHECK(body.find(fragment) == std::string::npos);
        }
    }
}
