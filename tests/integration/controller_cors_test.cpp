// Browser front ends: CORS for the origins in corsAllowedOrigins (preflight answered, the answer's origin
// allowed, never credentials), and the headers that keep a browser from misreading an answer.

#include <doctest/doctest.h>

#include "tests/support/controller_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;

namespace {

Response send(const ControllerProcess& controller, http::verb method, const std::string& target,
              const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> req{method, target, 11};
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    HttpClient client(controller.address());
    return client.send(std::move(req));
}

}  // namespace

TEST_CASE("CORS: a listed origin's preflight is answered and its answers carry its origin, no other's do") {
    TempDir dir;
    ControllerProcess controller(dir.path(), {"--cors-allowed-origins", R"(["https://admin.example"])"});
    const std::string admin = "https://admin.example";

    auto preflight = send(controller, http::verb::options, "/v1/servers",
                          {{"Origin", admin},
                           {"Access-Control-Request-Method", "GET"},
                           {"Access-Control-Request-Headers", "authorization"}});
    CHECK(preflight.result() == http::status::no_content);
    CHECK(preflight[http::field::access_control_allow_origin] == admin);
    CHECK(std::string(preflight[http::field::access_control_allow_methods]).find("GET") != std::string::npos);
    CHECK(std::string(preflight[http::field::access_control_allow_headers]).find("Authorization") != std::string::npos);
    CHECK(preflight[http::field::access_control_allow_credentials].empty());

    auto stranger = send(controller, http::verb::options, "/v1/servers",
                         {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "DELETE"}});
    CHECK(stranger.result() == http::status::forbidden);
    CHECK(stranger[http::field::access_control_allow_origin].empty());

    auto listed =
        send(controller, http::verb::get, "/v1/servers", {{"Origin", admin}, {"Authorization", controller.bearer()}});
    CHECK(listed.result() == http::status::ok);
    CHECK(listed[http::field::access_control_allow_origin] == admin);
    CHECK(std::string(listed[http::field::access_control_expose_headers]).find("Location") != std::string::npos);
    CHECK(listed["X-Content-Type-Options"] == "nosniff");
    CHECK(listed[http::field::cache_control] == "no-store");
    auto other = send(controller, http::verb::get, "/v1/servers",
                      {{"Origin", "https://evil.example"}, {"Authorization", controller.bearer()}});
    CHECK(other[http::field::access_control_allow_origin].empty());
    // A refusal carries the origin too, so that a front end can read why.
    auto refused = send(controller, http::verb::get, "/v1/servers", {{"Origin", admin}});
    CHECK(refused.result() == http::status::unauthorized);
    CHECK(refused[http::field::access_control_allow_origin] == admin);
    CHECK(refused["X-Content-Type-Options"] == "nosniff");

    // Without corsAllowedOrigins, no CORS at all.
    TempDir plain_dir;
    ControllerProcess plain(plain_dir.path());
    auto none =
        send(plain, http::verb::options, "/v1/servers", {{"Origin", admin}, {"Access-Control-Request-Method", "GET"}});
    CHECK(none.result() == http::status::method_not_allowed);
    CHECK(none[http::field::access_control_allow_origin].empty());
}
