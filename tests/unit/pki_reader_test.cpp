// The PKI reader against the corpus that tests/fixtures/make-fixtures.sh makes with openssl and keytool:
// every readable kind with its thumbprint, key and chain; every refusal with its own code.

#include <doctest/doctest.h>

#include <optional>

#include "service/fs/atomic_file.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/issuer.hpp"
#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/trust.hpp"
#include "service/pki/writer.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy;
using namespace certdeploy::pki;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;

std::string corpus_text(const std::string& name) {
    auto text = fs::read_file(kCorpus / name, 16 * 1024 * 1024);
    REQUIRE_MESSAGE(text.has_value(), "missing fixture " << name);
    return *text;
}

std::string first_line(const std::string& name) {
    auto text = corpus_text(name);
    return text.substr(0, text.find('\n'));
}

const PkiContext& context() {
    static const auto ctx = PkiContext::create().value();
    return *ctx;
}

// Only the corpus's own root is trusted, so results do not depend on the machine's CA bundle.
const TrustStore& corpus_trust() {
    static const auto store = TrustStore::create(PkiContext::create().value(), {kCorpus / "root.pem"}, false).value();
    return *store;
}

Result<Bundle> read(const std::string& file, const std::optional<std::string>& password_file) {
    std::optional<Secret> password;
    if (password_file) {
        password.emplace(first_line(*password_file));
    }
    return read_bundle(corpus_text(file), password ? &*password : nullptr, context());
}

}  // namespace

TEST_CASE("every readable kind of file gives the right leaf, key presence, chain and status") {
    struct Case {
        std::string file;
        std::optional<std::string> password_file;
        std::string thumbprint_file;
        bool has_key;
        std::size_t chain_length;  // after the leaf
        Format format;
        std::string status;
        std::string friendly_name;
    };
    const std::vector<Case> cases = {
        {"modern.pfx", "password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"legacy-rc2.pfx", "password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"legacy-3des.pfx", "password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"nomac.pfx", "password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"empty-password.pfx", std::nullopt, "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"empty-password.pfx", "empty-password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid",
         "Fabrikam Mail"},
        {"unprotected.pfx", std::nullopt, "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"unicode-password.pfx", "unicode-password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid",
         "Fabrikam Mail"},
        {"two-certs-one-key.pfx", "password.txt", "leaf.thumbprint", true, 1, Format::pkcs12, "Untrusted",
         "Fabrikam Mail"},
        {"certs-only.pfx", "password.txt", "leaf.thumbprint", false, 2, Format::pkcs12, "Valid", ""},
        {"exchange-export.cer", "password.txt", "leaf.thumbprint", true, 2, Format::pkcs12, "Valid", "Fabrikam Mail"},
        {"keytool.p12", "password.txt", "keytool.thumbprint", true, 0, Format::pkcs12, "Untrusted", "tomcat"},
        {"keytool-legacy.p12", "password.txt", "keytool.thumbprint", true, 0, Format::pkcs12, "Untrusted", "tomcat"},
        {"leaf.cer", std::nullopt, "leaf.thumbprint", false, 0, Format::der, "Untrusted", ""},
        {"leaf.crt", std::nullopt, "leaf.thumbprint", false, 0, Format::pem, "Untrusted", ""},
        {"chain.p7b", std::nullopt, "leaf.thumbprint", false, 2, Format::pkcs7, "Valid", ""},
        {"chain.p7c", std::nullopt, "leaf.thumbprint", false, 2, Format::pkcs7, "Valid", ""},
        {"bag-attributes.pem", std::nullopt, "leaf.thumbprint", true, 2, Format::pem, "Valid", ""},
        {"crlf-bom.pem", std::nullopt, "leaf.thumbprint", true, 2, Format::pem, "Valid", ""},
        {"encrypted-key.pem", "password.txt", "leaf.thumbprint", true, 2, Format::pem, "Valid", ""},
        {"traditional-key.pem", std::nullopt, "leaf.thumbprint", true, 0, Format::pem, "Untrusted", ""},
        {"traditional-encrypted-key.pem", "password.txt", "leaf.thumbprint", true, 0, Format::pem, "Untrusted", ""},
        {"ec.pem.bundle", std::nullopt, "ec.thumbprint", true, 0, Format::pem, "Untrusted", ""},
        {"chain.pem", std::nullopt, "", false, 1, Format::pem, "Valid", ""},  // the intermediate is the leaf
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        auto bundle = read(c.file, c.password_file);
        REQUIRE_MESSAGE(bundle.has_value(), (bundle ? "" : bundle.error().message));
        if (!c.thumbprint_file.empty()) {
            CHECK(bundle->leaf.thumbprint() == first_line(c.thumbprint_file));
        }
        CHECK((bundle->key != nullptr) == c.has_key);
        CHECK(bundle->chain.size() == c.chain_length);
        CHECK(bundle->format == c.format);
        CHECK(bundle->friendly_name == c.friendly_name);
        CHECK(status_name(corpus_trust().evaluate(*bundle)) == c.status);
    }
}

TEST_CASE("the chain is ordered leaf to root whatever the order in the file") {
    // chain.p7b lists leaf, intermediate, root; a PEM with the root first must come out the same way.
    const std::string reordered = corpus_text("root.pem") + corpus_text("leaf.pem") + corpus_text("inter.pem") +
                                  corpus_text("leaf.pem");  // and a duplicate
    auto bundle = read_bundle(reordered, nullptr, context());
    REQUIRE(bundle.has_value());
    CHECK(bundle->leaf.thumbprint() == first_line("leaf.thumbprint"));
    REQUIRE(bundle->chain.size() == 2);
    CHECK(bundle->chain[0].subject().find("Fabrikam Issuing CA") != std::string::npos);
    CHECK(bundle->chain[1].thumbprint() == first_line("root.thumbprint"));
}

TEST_CASE("each failure has its own code, and a wrong password is never reported as damage") {
    struct Case {
        std::string file;
        std::optional<std::string> password_file;
        ErrorCode code;
        std::string message_fragment;
    };
    const std::vector<Case> cases = {
        {"modern.pfx", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"legacy-rc2.pfx", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"legacy-3des.pfx", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"nomac.pfx", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"keytool.p12", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"empty-password.pfx", "password.txt", ErrorCode::wrong_password, "password"},
        {"encrypted-key.pem", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"traditional-encrypted-key.pem", "wrong-password.txt", ErrorCode::wrong_password, "password"},
        {"modern.pfx", std::nullopt, ErrorCode::password_required, "none was given"},
        {"nomac.pfx", std::nullopt, ErrorCode::password_required, "none was given"},
        {"encrypted-key.pem", std::nullopt, ErrorCode::password_required, "none was given"},
        {"traditional-encrypted-key.pem", std::nullopt, ErrorCode::password_required, "none was given"},
        {"truncated.pfx", "password.txt", ErrorCode::unreadable_certificate, "truncated"},
        {"truncated.pem", std::nullopt, ErrorCode::unreadable_certificate, "truncated"},
        {"damaged.pem", std::nullopt, ErrorCode::unreadable_certificate, "damaged"},
        {"random.bin", "password.txt", ErrorCode::unreadable_certificate, "not a certificate"},
        {"empty.bin", std::nullopt, ErrorCode::unreadable_certificate, "empty"},
        {"blank.txt", std::nullopt, ErrorCode::unreadable_certificate, "empty"},
        {"begin-only.pem", std::nullopt, ErrorCode::unreadable_certificate, "PEM"},
        {"unknown-cipher.pfx", "password.txt", ErrorCode::unsupported_algorithm, "algorithm"},
        {"key-mismatch.pem", std::nullopt, ErrorCode::key_mismatch, "does not belong"},
        {"key-only.pem", std::nullopt, ErrorCode::no_certificate, "no certificate"},
        {"unrelated.pem", std::nullopt, ErrorCode::ambiguous_leaf, "2 certificates"},
        {"two-keys.pem", std::nullopt, ErrorCode::ambiguous_leaf, "2 different private keys"},
        {"too-large.bin", std::nullopt, ErrorCode::too_large, "MiB"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        CAPTURE(c.password_file.value_or("(none)"));
        auto bundle = read(c.file, c.password_file);
        REQUIRE_FALSE(bundle.has_value());
        CHECK(code_string(bundle.error().code) == code_string(c.code));
        CAPTURE(bundle.error().message);
        CHECK(bundle.error().message.find(c.message_fragment) != std::string::npos);
        CHECK(bundle.error().message.find('\n') == std::string::npos);
        // OpenSSL's own words stay in the detail, for the log; never in the message.
        CHECK(bundle.error().message.find("error:") == std::string::npos);
    }
}

TEST_CASE("status: DateInvalid for expired or not-yet-valid, Invalid for a bad signature, Untrusted without the root") {
    auto expired = read("expired.pem", std::nullopt);
    REQUIRE(expired.has_value());
    CHECK(status_name(corpus_trust().evaluate(*expired)) == "DateInvalid");
    auto future = read("future.pem", std::nullopt);
    REQUIRE(future.has_value());
    CHECK(status_name(corpus_trust().evaluate(*future)) == "DateInvalid");
    auto bad_signature = read("bad-signature.pem", std::nullopt);
    REQUIRE(bad_signature.has_value());
    CHECK(status_name(corpus_trust().evaluate(*bad_signature)) == "Invalid");

    auto chain = read("chain.p7b", std::nullopt);
    REQUIRE(chain.has_value());
    auto no_roots = TrustStore::create(PkiContext::create().value(), {}, false).value();
    CHECK(status_name(no_roots->evaluate(*chain)) == "Untrusted");
    CHECK(status_name(corpus_trust().evaluate(*chain)) == "Valid");
    // The same chain a year and a half on: the leaf (365 days) has expired.
    CHECK(status_name(corpus_trust().evaluate(
              *chain, std::chrono::system_clock::now() + std::chrono::hours(24 * 400))) == "DateInvalid");
}

TEST_CASE("the summary carries what Get-ExchangeCertificate shows") {
    auto bundle = read("modern.pfx", "password.txt");
    REQUIRE(bundle.has_value());
    const auto s = summarize(*bundle, corpus_trust().evaluate(*bundle));
    CHECK(s["thumbprint"] == first_line("leaf.thumbprint"));
    CHECK(s["thumbprint"].get<std::string>().size() == 40);
    CHECK(s["sha256Fingerprint"].get<std::string>().size() == 64);
    CHECK(s["subject"] == "CN=mail.fabrikam.com, O=Fabrikam, C=US");
    CHECK(s["issuer"] == "CN=Fabrikam Issuing CA, O=Fabrikam, C=US");
    CHECK(s["certificateDomains"] ==
          nlohmann::json::array({"mail.fabrikam.com", "autodiscover.fabrikam.com"}));  // CN already among the SANs
    CHECK(s["notBefore"].get<std::string>().back() == 'Z');
    CHECK(s["notAfter"].get<std::string>().size() == 20);
    CHECK(s["hasPrivateKey"] == true);
    CHECK(s["publicKeySize"] == 2048);
    CHECK(s["keyAlgorithm"] == "RSA");
    CHECK(s["isSelfSigned"] == false);
    CHECK(s["friendlyName"] == "Fabrikam Mail");
    CHECK(s["format"] == "pkcs12");
    REQUIRE(s["chain"].size() == 3);
    CHECK(s["chain"][0]["thumbprint"] == s["thumbprint"]);
    CHECK(s["chain"][2]["subject"] == "CN=Fabrikam Root CA, O=Fabrikam, C=US");
    CHECK(s["status"] == "Valid");
    CHECK_FALSE(s["serialNumber"].get<std::string>().empty());

    auto keytool = read("keytool.p12", "password.txt");
    REQUIRE(keytool.has_value());
    const auto k = summarize(*keytool, corpus_trust().evaluate(*keytool));
    CHECK(k["isSelfSigned"] == true);
    CHECK(k["certificateDomains"] == nlohmann::json::array({"tomcat.fabrikam.com"}));
}

// Found with tests/fuzz/reader_fuzz.cpp: a date past 2261 overflowed the time_point it was read into (undefined
// behaviour), so that an upload valid until 9999 (RFC 5280's "no expiry") made the reader's callers do anything.
TEST_CASE("a certificate valid past 2261 is read, judged and summarised, its end held as the last date there is") {
    auto key = new_ec_key(context());
    REQUIRE(key.has_value());
    const auto three_centuries = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::hours(24 * 366 * 300));
    auto cert = sign_certificate(context(), "forever.example", key->get(), nullptr, key->get(), three_centuries,
                                 std::chrono::seconds(60), {});
    REQUIRE(cert.has_value());
    const Certificate certificate(std::move(*cert));
    CHECK(certificate.not_after() > std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 200));
    auto bundle = read_bundle(certificate.to_pem(), nullptr, context());
    REQUIRE(bundle.has_value());
    const auto s = summarize(*bundle, corpus_trust().evaluate(*bundle));
    CHECK(s["notAfter"] == "2262-04-11T23:47:16Z");
    CHECK(s["notBefore"].get<std::string>().size() == 20);
}

TEST_CASE("writing: PKCS #12 in both profiles reads back the same, and PEM texts are separate") {
    auto bundle = read("legacy-rc2.pfx", "password.txt");
    REQUIRE(bundle.has_value());
    const Secret password("export-Pässword");
    for (auto profile : {Pkcs12Profile::modern, Pkcs12Profile::legacy}) {
        CAPTURE(static_cast<int>(profile));
        auto written = write_pkcs12(*bundle, password, profile, context());
        REQUIRE(written.has_value());
        auto again = read_bundle(*written, &password, context());
        REQUIRE(again.has_value());
        CHECK(again->leaf.thumbprint() == bundle->leaf.thumbprint());
        CHECK(again->key != nullptr);
        CHECK(EVP_PKEY_eq(again->key.get(), bundle->key.get()) == 1);
        CHECK(again->chain.size() == 2);
        CHECK(again->friendly_name == "Fabrikam Mail");
        const Secret wrong("nope");
        auto refused = read_bundle(*written, &wrong, context());
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == ErrorCode::wrong_password);
    }
    auto pem = write_pem(*bundle);
    REQUIRE(pem.has_value());
    CHECK(pem->certificate.find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(pem->chain.find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(pem->key.reveal().find("BEGIN PRIVATE KEY") != std::string::npos);
    auto reread = read_bundle(pem->certificate + std::string(pem->key.reveal()) + pem->chain, nullptr, context());
    REQUIRE(reread.has_value());
    CHECK(reread->leaf.thumbprint() == bundle->leaf.thumbprint());
}

TEST_CASE("OpenSSL's own tool reads what the writer wrote, with the profile's algorithms") {
    auto bundle = read("modern.pfx", "password.txt");
    REQUIRE(bundle.has_value());
    test::TempDir dir;
    test::write_file(dir / "pass", "s3cret");
    const Secret password("s3cret");
    struct Case {
        Pkcs12Profile profile;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases = {
        {Pkcs12Profile::modern, {"AES-256-CBC", "PBKDF2", "MAC: sha256"}},
        {Pkcs12Profile::legacy, {"pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1"}},
    };
    for (const auto& c : cases) {
        auto written = write_pkcs12(*bundle, password, c.profile, context());
        REQUIRE(written.has_value());
        test::write_file(dir / "out.pfx", *written);
        test::ChildProcess openssl("/usr/bin/openssl",
                                   {"pkcs12", "-info", "-noout", "-in", (dir / "out.pfx").string(), "-passin",
                                    "file:" + (dir / "pass").string()},
                                   dir.path());
        auto status = openssl.wait_for_exit(std::chrono::seconds(20));
        REQUIRE(status.has_value());
        CHECK(status->code == 0);
        const auto report = openssl.stderr_text() + openssl.stdout_text();
        for (const auto& fragment : c.expected) {
            CAPTURE(report);
            CHECK(report.find(fragment) != std::string::npos);
        }
    }
}
