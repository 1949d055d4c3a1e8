#include "api/http/router.hpp"

#include <doctest/doctest.h>

#include <boost/url/parse.hpp>

using namespace certdeploy::api;

namespace {

Handler named(std::string name) {
    return [name](Request& req) -> asio::awaitable<certdeploy::Result<Response>> {
        Response res{http::status::ok, req.message.version()};
        res.body() = name;
        co_return res;
    };
}

Request make_request(http::verb method, const std::string& target) {
    Request req;
    req.message = HttpRequest{method, target, 11};
    req.target = *boost::urls::parse_origin_form(target);
    return req;
}

}  // namespace

TEST_CASE("routes match literals and {params}, and report allowed methods") {
    Router router;
    router.add(http::verb::get, "/healthz", named("health"));
    router.add(http::verb::get, "/v1/jobs/{id}", named("job"));
    router.add(http::verb::delete_, "/v1/jobs/{id}", named("delete-job"));
    router.add(http::verb::post, "/v1/jobs/{id}/retry", named("retry"));

    SUBCASE("literal") {
        auto req = make_request(http::verb::get, "/healthz");
        auto m = router.match(req);
        CHECK(m.handler != nullptr);
    }
    SUBCASE("parameter, percent-decoded, query ignored") {
        auto req = make_request(http::verb::get, "/v1/jobs/ab%20c?x=1");
        auto m = router.match(req);
        REQUIRE(m.handler != nullptr);
        CHECK(req.params.at("id") == "ab c");
    }
    SUBCASE("trailing slash tolerated") {
        auto req = make_request(http::verb::post, "/v1/jobs/7/retry/");
        auto m = router.match(req);
        REQUIRE(m.handler != nullptr);
        CHECK(req.params.at("id") == "7");
    }
    SUBCASE("wrong method lists the allowed ones") {
        auto req = make_request(http::verb::put, "/v1/jobs/7");
        auto m = router.match(req);
        CHECK(m.handler == nullptr);
        CHECK(m.allowed == std::vector<std::string>{"DELETE", "GET"});
    }
    SUBCASE("no such path") {
        auto req = make_request(http::verb::get, "/v1/nothing");
        auto m = router.match(req);
        CHECK(m.handler == nullptr);
        CHECK(m.allowed.empty());
    }
    SUBCASE("an extra segment does not match") {
        auto req = make_request(http::verb::get, "/v1/jobs/7/extra");
        CHECK(router.match(req).handler == nullptr);
    }
}
