// multipart/form-data as curl -F sends it, and what is refused.

#include "api/http/multipart.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>

using certdeploy::api::form_boundary;
using certdeploy::api::parse_form;

TEST_CASE("form_boundary reads the boundary, quoted or not, and nothing from other types") {
    CHECK(form_boundary("multipart/form-data; boundary=----abc") == "----abc");
    CHECK(form_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b;c\"") == "a b;c");
    CHECK(form_boundary("application/json").empty());
    CHECK(form_boundary("multipart/form-data").empty());
    CHECK(form_boundary("multipart/mixed; boundary=x").empty());
}

TEST_CASE("parse_form returns every part with its name, file name and exact bytes") {
    using namespace std::string_literals;
    const std::string binary = "\x00\r\n--not-the-boundary\r\n\xff"s;  // a NUL, line ends, a near-boundary
    REQUIRE(binary.size() == 24);
    const std::string body =
        "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b.pfx\"\r\n"
        "Content-Type: application/x-pkcs12\r\n\r\n" +
        binary +
        "\r\n--XyZ\r\ncontent-disposition: form-data; name=servers\r\n\r\nex01,ex02\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n\r\n--XyZ--\r\n";
    auto parts = parse_form(body, "XyZ");
    REQUIRE(parts.has_value());
    REQUIRE(parts->size() == 3);
    CHECK((*parts)[0].name == "file");
    CHECK((*parts)[0].filename == "a;b.pfx");
    CHECK((*parts)[0].body == binary);
    CHECK((*parts)[1].name == "servers");
    CHECK((*parts)[1].body == "ex01,ex02");
    CHECK((*parts)[2].name == "password");
    CHECK((*parts)[2].body.empty());
}

TEST_CASE("parse_form refuses malformed bodies with invalid-request") {
    const std::vector<std::string> bodies = {
        "",
        "no boundary at all",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnever closed",
        "--XyZ\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"",
        "--XyZgarbage",
    };
    for (const auto& body : bodies) {
        CAPTURE(body);
        auto parts = parse_form(body, "XyZ");
        REQUIRE_FALSE(parts.has_value());
        CHECK(parts.error().code == certdeploy::ErrorCode::invalid_request);
    }
    CHECK_FALSE(parse_form("--\r\n", "").has_value());
}

// Found by tests/fuzz/multipart_fuzz.cpp: Boost 1.81's beast::iequals, which compared the type, read one byte past
// the end of a text that matched only ignoring case. The type here ends where its allocation does, so that
// AddressSanitizer sees such a read.
TEST_CASE("a type that matches only ignoring case is compared within its bytes") {
    for (const std::string type : {"multipArt/form-data", "MULTIPART/FORM-DATA"}) {
        CAPTURE(type);
        auto exact = std::make_unique<char[]>(type.size());
        std::memcpy(exact.get(), type.data(), type.size());
        CHECK(form_boundary(std::string_view(exact.get(), type.size())).empty());  // no boundary parameter
    }
    CHECK(form_boundary("MULTIPART/Form-Data; BOUNDARY=XyZ") == "XyZ");
}
