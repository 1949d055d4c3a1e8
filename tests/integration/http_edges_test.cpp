// What the HTTP layer answers to requests it cannot serve: problem+json with a stable code, never a
// crash or a hang, and the process keeps serving afterwards.

#include <doctest/doctest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/support/controller_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;

namespace {

nlohmann::json problem_of(const Response& res) {
    CHECK(res[http::field::content_type] == "application/problem+json");
    return nlohmann::json::parse(res.body());
}

}  // namespace

TEST_CASE("problem+json answers for unknown paths, wrong methods, oversized and malformed requests") {
    TempDir dir;
    ControllerProcess server(dir.path(), {"--max-body-bytes", "2048"});
    const auto address = server.address();

    SUBCASE("unknown path") {
        auto res = http_get(address, "/v1/nothing");
        CHECK(res.result() == http::status::not_found);
        auto problem = problem_of(res);
        CHECK(problem["code"] == "not-found");
        CHECK(problem["status"] == 404);
        CHECK(problem["instance"] == "/v1/nothing");
        CHECK(problem["type"] == "urn:certdeploy:problem:not-found");
    }
    SUBCASE("wrong method, with Allow") {
        HttpClient client(address);
        auto res = client.request(http::verb::delete_, "/healthz");
        CHECK(res.result() == http::status::method_not_allowed);
        CHECK(res[http::field::allow] == "GET");
        CHECK(problem_of(res)["code"] == "method-not-allowed");
        CHECK(client.request(http::verb::get, "/healthz").result() == http::status::ok);  // connection still usable
    }
    SUBCASE("body over the limit") {
        HttpClient client(address);
        // Large enough to fill the socket buffers: the answer must still arrive, not a connection reset.
        auto res =
            client.request(http::verb::post, "/healthz", std::string(512 * 1024, 'x'), "application/octet-stream");
        CHECK(res.result() == http::status::payload_too_large);
        CHECK(problem_of(res)["code"] == "payload-too-large");
        CHECK_FALSE(res.keep_alive());
    }
    SUBCASE("not HTTP at all") {
        HttpClient client(address);
        client.send_raw("HELLO THERE\r\n\r\n");
        auto res = client.read_response();
        CHECK(res.result() == http::status::bad_request);
        CHECK(problem_of(res)["code"] == "invalid-request");
    }
    SUBCASE("Expect: 100-continue is honoured") {
        HttpClient client(address);
        client.send_raw("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        auto interim = client.read_response();
        CHECK(interim.result() == http::status::continue_);
        client.send_raw("hello");
        CHECK(client.read_response().result() == http::status::method_not_allowed);
    }
    CHECK(http_get(address, "/healthz").result() == http::status::ok);
    server.process().signal(SIGTERM);
    auto status = server.process().wait_for_exit(2s);
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
}
