// Hostile input at the controller's API and an agent's: documents nested 100 000 deep, a body one byte over
// the limit, 10 000 headers, 100 000 multipart parts, names and thumbprints made of `../`, NUL and bytes that
// are not UTF-8, and 2 000 connections that never finish a request while a deployment runs. Each is refused
// with its stable code (or waits out its timeout), changes nothing, and leaves the process serving others
// (docs/RELIABILITY.md).

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/corpus.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr std::size_t kBodyLimit = 16 * 1024 * 1024;  // the default maxBodyBytes

std::string code_of(const Response& res) {
    INFO(res.body());
    CHECK(res[http::field::content_type] == "application/problem+json");
    return json::parse(res.body(), nullptr, false).value("code", "");
}

std::string nested(std::size_t depth, bool objects) {
    std::string text;
    text.reserve(depth * 6 + 2);
    for (std::size_t i = 0; i < depth; ++i) {
        text += objects ? "{\"a\":" : "[";
    }
    text += "1";
    for (std::size_t i = 0; i < depth; ++i) {
        text += objects ? "}" : "]";
    }
    return text;
}

// A plain TCP connection to HOST:PORT (IPv4), blocking; -1 when refused.
int connect_to(const std::string& address) {
    const auto colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `head` and then `body_size` bytes from another thread, as a client that does not wait to be told
// (curl): the answer is read meanwhile. Returns the answer's status line and body, as received.
std::string send_while_reading(const std::string& address, const std::string& head, std::size_t body_size) {
    const int fd = connect_to(address);
    REQUIRE(fd >= 0);
    timeval timeout{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::thread writer([&] {
        if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) < 0) {
            return;
        }
        const std::string chunk(64 * 1024, 'x');
        for (std::size_t sent = 0; sent < body_size;) {
            const auto n = ::send(fd, chunk.data(), std::min(chunk.size(), body_size - sent), MSG_NOSIGNAL);
            if (n <= 0) {
                return;  // the server stopped reading: expected once it has answered
            }
            sent += static_cast<std::size_t>(n);
        }
    });
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    ::shutdown(fd, SHUT_RDWR);
    writer.join();
    ::close(fd);
    return answer;
}

Response agent_call(Fleet& fleet, const std::string& agent, http::verb method, const std::string& target,
                    const std::string& body = {}) {
    const auto pki = fleet.dir() / "pki";
    HttpClient client(fleet.agent_address(agent),
                      TlsClientFiles{(pki / "ca.pem").string(), (pki / "controller.pem").string(),
                                     (pki / "controller.key").string()});
    return client.request(method, target, body, body.empty() ? "" : "application/json");
}

// PUT of `body` as application/json, byte for byte (Fleet::call would re-encode a parsed document).
Response put_raw_json(Fleet& fleet, const std::string& target, const std::string& body) {
    http::request<http::string_body> put{http::verb::put, target, 11};
    put.set(http::field::authorization, fleet.bearer());
    put.set(http::field::content_type, "application/json");
    put.body() = body;
    HttpClient client(fleet.address());
    return client.send(std::move(put), 30s);
}

// The servers' names and agent URLs (what a request could have changed; the probes change the rest).
std::vector<std::string> server_list(Fleet& fleet) {
    std::vector<std::string> out;
    const auto page = json::parse(fleet.call(http::verb::get, "/v1/servers").body());
    for (const auto& server : page["servers"]) {
        out.push_back(server["name"].get<std::string>() + " " + server["agentUrl"].get<std::string>());
    }
    return out;
}

void check_serving(Fleet& fleet) {
    CHECK(fleet.call(http::verb::get, "/healthz").result() == http::status::ok);
    CHECK(agent_call(fleet, "ex01", http::verb::get, "/agent/v1/health").result() == http::status::ok);
}

}  // namespace

TEST_CASE(
    "hostile bodies are refused with their code and change nothing: 100 000 levels of JSON, 16 MiB + 1, "
    "10 000 headers, 100 000 multipart parts") {
    Fleet fleet({server_names(1), {}, json::object(), (kCorpus / "root.pem").string(), {}});
    const auto servers_before = server_list(fleet);

    SUBCASE("JSON nested 100 000 deep, arrays and objects, at the controller and at an agent") {
        for (const bool objects : {false, true}) {
            CAPTURE(objects);
            const auto deep = nested(100'000, objects);
            auto res = put_raw_json(fleet, "/v1/servers/ex09", deep);
            CHECK(res.result() == http::status::bad_request);
            CHECK(code_of(res) == "invalid-request");
            const auto installed =
                agent_call(fleet, "ex01", http::verb::put, "/agent/v1/certificates/" + std::string(40, 'a'), deep);
            CHECK(installed.result() == http::status::bad_request);
            CHECK(code_of(installed) == "invalid-request");
        }
    }
    SUBCASE("a body of exactly the limit is read; one byte more is refused before it is read") {
        const std::vector<FormField> empty{
            {"file", "", "big.pfx"}, {"password", kPassword, ""}, {"servers", "ex01", ""}};
        const auto [overhead, boundary] = form_body(empty);
        auto at_limit = empty;
        at_limit[0].value.assign(kBodyLimit - overhead.size(), 'x');
        REQUIRE(form_body(at_limit).first.size() == kBodyLimit);
        auto read = fleet.post_form("/v1/imports", at_limit);
        // Read whole, then refused for what it is: a file larger than any certificate file.
        CHECK(read.result() == http::status::unprocessable_entity);
        CHECK(code_of(read) == "too-large");

        const std::string head = "POST /v1/imports HTTP/1.1\r\nHost: t\r\nAuthorization: " + fleet.bearer() +
                                 "\r\nContent-Type: multipart/form-data; boundary=" + boundary +
                                 "\r\nContent-Length: " + std::to_string(kBodyLimit + 1) + "\r\n\r\n";
        // Only the head is sent: the answer must come without the body.
        const auto answer = send_while_reading(fleet.address(), head, 0);
        INFO(answer.substr(0, 400));
        CHECK(answer.rfind("HTTP/1.1 413 ", 0) == 0);
        CHECK(answer.find("\"code\":\"payload-too-large\"") != std::string::npos);
    }
    SUBCASE("10 000 headers") {
        std::string head = "GET /v1/servers HTTP/1.1\r\nHost: t\r\nAuthorization: " + fleet.bearer() + "\r\n";
        for (int i = 0; i < 10'000; ++i) {
            head += "X-Hostile-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
        }
        head += "\r\n";
        const auto answer = send_while_reading(fleet.address(), head, 0);
        INFO(answer.substr(0, 400));
        CHECK(answer.rfind("HTTP/1.1 431 ", 0) == 0);
        CHECK(answer.find("\"code\":\"headers-too-large\"") != std::string::npos);
    }
    SUBCASE("a multipart body of 100 000 parts") {
        std::vector<FormField> parts{{"password", kPassword, ""}, {"servers", "ex01", ""}};
        for (int i = 0; i < 100'000; ++i) {
            parts.push_back({"x", "y", ""});
        }
        auto res = fleet.post_form("/v1/imports", parts);
        CHECK(res.result() == http::status::bad_request);
        CHECK(code_of(res) == "invalid-request");
    }
    CHECK(server_list(fleet) == servers_before);
    const auto jobs = json::parse(fleet.call(http::verb::get, "/v1/jobs").body())["jobs"];
    CHECK(jobs.empty());
    check_serving(fleet);
}

TEST_CASE("names and thumbprints made of ../, NUL and bytes that are not UTF-8 are refused and reach no file") {
    Fleet fleet({server_names(1), {}, json::object(), (kCorpus / "root.pem").string(), {}});
    const auto servers_before = server_list(fleet);
    const auto store = fleet.dir() / "store-ex01";
    auto listing = [&] {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(store)) {
            names.push_back(entry.path().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    };
    const auto store_before = listing();
    auto top_level = [&] {  // where a `../` out of the store would land
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(fleet.dir().path())) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    };
    const auto top_before = top_level();

    const std::vector<std::string> hostile_path_parts{
        "..%2F..%2F..%2Fetc%2Fpasswd", "..", "a%00b", "%FF%FE%FD", "ex01%00", "%2E%2E"};
    for (const auto& part : hostile_path_parts) {
        CAPTURE(part);
        auto put = fleet.call(http::verb::put, "/v1/servers/" + part, {{"agentUrl", "https://127.0.0.1:1"}});
        CHECK((put.result() == http::status::bad_request || put.result() == http::status::not_found));
        CHECK_FALSE(code_of(put).empty());
        auto get = fleet.call(http::verb::get, "/v1/servers/ex01/certificates/" + part);
        CHECK(get.result() == http::status::bad_request);
        CHECK(code_of(get) == "invalid-thumbprint");
        for (const auto method : {http::verb::get, http::verb::delete_}) {
            auto at_agent = agent_call(fleet, "ex01", method, "/agent/v1/certificates/" + part);
            CHECK(at_agent.result() == http::status::bad_request);
            CHECK(code_of(at_agent) == "invalid-thumbprint");
        }
    }
    // In JSON and in a form: a NUL, a path, and bytes that are not UTF-8.
    for (const std::string& name : {std::string("ex01\0", 5), std::string("../ex01"), std::string("\xff\xfe")}) {
        CAPTURE(json(name).dump(-1, ' ', false, json::error_handler_t::replace));
        auto imported = fleet.post_form("/v1/imports", {{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"},
                                                        {"password", kPassword, ""},
                                                        {"servers", name, ""}});
        CHECK((imported.result() == http::status::unprocessable_entity ||
               imported.result() == http::status::bad_request));
        CHECK_FALSE(code_of(imported).empty());
        auto named = fleet.post_form(
            "/v1/imports",
            {{"file", read_file(kCorpus / "modern.pfx"), name}, {"password", kPassword, ""}, {"servers", "ex01", ""}});
        CHECK((named.result() == http::status::accepted || named.result() == http::status::bad_request));
        const std::string raw = "{\"agentUrl\": \"https://" + name + ":1\"}";
        auto res = put_raw_json(fleet, "/v1/servers/ex09", raw);
        CHECK(res.result() == http::status::bad_request);
        CHECK_FALSE(code_of(res).empty());
    }
    CHECK(server_list(fleet) == servers_before);
    CHECK(top_level() == top_before);
    // What the store gained (the certificate of the imports whose servers were well-formed) is in a
    // directory named by its thumbprint, 40 hexadecimal digits: never by a name from the request.
    for (const auto& path : listing()) {
        if (std::find(store_before.begin(), store_before.end(), path) == store_before.end()) {
            CAPTURE(path);
            const auto relative = path.substr(store.string().size() + 1);  // THUMBPRINT[/file]
            const auto entry = relative.substr(0, relative.find('/'));
            CHECK(entry.size() == 40);
            CHECK(entry.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos);
        }
    }
    check_serving(fleet);
}

TEST_CASE("2 000 idle or half-sent connections during a deployment: the deployment completes, others are served") {
    // Started under the usual soft limit of 1024 descriptors: the controller raises it to the hard limit.
    rlimit mine{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &mine) == 0);
    REQUIRE(mine.rlim_max > 4096);
    rlimit low = mine;
    low.rlim_cur = 1024;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    auto owned = std::make_unique<Fleet>(
        Fleet::Options{server_names(4), {}, json::object(), (kCorpus / "root.pem").string(), {}});
    rlimit high = mine;
    high.rlim_cur = mine.rlim_max;  // this process holds 2 000 sockets itself
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &high) == 0);
    Fleet& fleet = *owned;
    std::vector<int> hostile;
    for (int i = 0; i < 2000; ++i) {
        const int fd = connect_to(fleet.address());
        REQUIRE(fd >= 0);
        hostile.push_back(fd);
        // Half of them start a request and never finish it: a header cut short, or a body that never comes.
        const std::string partial = i % 4 == 1   ? "GET /v1/jobs HTTP/1.1\r\nHost: t\r\nAuthoriz"
                                    : i % 4 == 3 ? "POST /v1/imports HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n"
                                                   "Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
                                                 : "";
        if (!partial.empty()) {
            REQUIRE(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(partial.size()));
        }
    }
    const auto started = std::chrono::steady_clock::now();
    auto accepted = fleet.post_form(
        "/v1/imports",
        {{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"}, {"password", kPassword, ""}, {"servers", "*", ""}});
    REQUIRE(accepted.result() == http::status::accepted);
    CHECK(fleet.call(http::verb::get, "/healthz").result() == http::status::ok);
    CHECK(fleet.call(http::verb::get, "/v1/servers").result() == http::status::ok);
    const auto job = fleet.wait_until_final(json::parse(accepted.body())["id"]);
    MESSAGE("deployment to 4 servers beside 2 000 hostile connections: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s");
    CHECK(job["state"] == "succeeded");
    for (const auto& name : server_names(4)) {
        CHECK(fleet.installs(name) == 1);
    }
    const auto metrics = fleet.call(http::verb::get, "/metrics").body();
    for (const int fd : hostile) {
        ::close(fd);
    }
    CHECK(fleet.call(http::verb::get, "/healthz").result() == http::status::ok);
    const auto at = metrics.find("\nprocess_max_fds ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(metrics.substr(at + 17)) == static_cast<double>(mine.rlim_max));
}
