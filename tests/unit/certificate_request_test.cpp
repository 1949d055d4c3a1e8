// Certificate requests: the fields checked one by one (each error naming its field), the PKCS #10 request as
// OpenSSL reads it back, and the agent's pending request — completed by a certificate for its key, removable,
// and tidied after a crash between completing it and deleting it.

#include "service/pki/certificate_request.hpp"

#include <doctest/doctest.h>
#include <openssl/pem.h>

#include <filesystem>

#include "service/agent/agent_service.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/issuer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy;
using namespace certdeploy::pki;

namespace {

std::shared_ptr<const PkiContext> context() {
    static const auto ctx = PkiContext::create().value();
    return ctx;
}

Error refusal(const RequestFields& fields) {
    auto checked = check_request(fields);
    REQUIRE_FALSE(checked.has_value());
    return checked.error();
}

void free_extensions(STACK_OF(X509_EXTENSION) * s) {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}

// The CA's answer to a PEM request: a certificate for its key, from `ca`.
Certificate answer(const Issued& ca, const std::string& csr, const std::string& name) {
    auto key = csr_public_key(*context(), csr).value();
    auto cert = issue_leaf(*context(), ca, name, key.get(), "serverAuth", "DNS:" + name, std::chrono::hours(240),
                           std::chrono::minutes(5))
                    .value();
    return Certificate(std::move(cert));
}

}  // namespace

TEST_CASE("certificate request fields: defaults, the subject from a domain and back, each error naming its field") {
    auto spec =
        check_request({"", {"Mail.Contoso.com", "autodiscover.contoso.com", "mail.contoso.com"}, "", 0}).value();
    CHECK(spec.subject == "CN=mail.contoso.com");
    CHECK(spec.domains == std::vector<std::string>{"mail.contoso.com", "autodiscover.contoso.com"});
    CHECK(spec.keyAlgorithm == KeyAlgorithm::rsa);
    CHECK(spec.keySize == 2048);
    spec = check_request({"cn=owa.contoso.com,o=Contoso\\, Ltd, c=us", {}, "ecdsa", 0}).value();
    CHECK(spec.subject == "CN=owa.contoso.com, O=Contoso\\, Ltd, C=US");
    CHECK(spec.domains == std::vector<std::string>{"owa.contoso.com"});
    CHECK(spec.keyAlgorithm == KeyAlgorithm::ecdsa);
    CHECK(spec.keySize == 256);
    CHECK(check_request({"", {"*.contoso.com"}, "RSA", 4096}).has_value());

    const auto subject = [](const Error& e) {
        CHECK(e.code == ErrorCode::invalid_subject);
        CHECK(e.message.rfind("\"subject\"", 0) == 0);
    };
    subject(refusal({"", {}, "", 0}));
    subject(refusal({"CN=a.contoso.com, C=USA", {}, "", 0}));
    subject(refusal({"XX=a", {"a.contoso.com"}, "", 0}));
    subject(refusal({"CN=", {"a.contoso.com"}, "", 0}));
    subject(refusal({"just text", {"a.contoso.com"}, "", 0}));
    subject(refusal({"CN=" + std::string(65, 'a'), {"a.contoso.com"}, "", 0}));
    for (const auto& bad : {"contoso", "-a.contoso.com", "a..contoso.com", "a b.contoso.com", "*.*.contoso.com",
                            "m\xc3\xa4il.contoso.com", "10.0.0.1x_"}) {
        CAPTURE(bad);
        const auto e = refusal({"", {bad}, "", 0});
        CHECK(e.code == ErrorCode::invalid_domain);
        CHECK(e.message.rfind("\"domains\"", 0) == 0);
    }
    const auto domain_from_cn = refusal({"CN=Exchange Server", {}, "", 0});
    CHECK(domain_from_cn.code == ErrorCode::invalid_domain);
    for (const auto& [algorithm, size, field] : std::vector<std::tuple<std::string, int, std::string>>{
             {"RSA", 1024, "keySize"}, {"ECDSA", 521, "keySize"}, {"DSA", 0, "keyAlgorithm"}}) {
        const auto e = refusal({"", {"a.contoso.com"}, algorithm, size});
        CHECK(e.code == ErrorCode::invalid_key_parameters);
        CHECK(e.message.rfind("\"" + field + "\"", 0) == 0);
    }
}

TEST_CASE("a certificate request as OpenSSL reads it: signed by its key, with its subject and names") {
    const auto spec = check_request({"CN=mail.contoso.com, OU=Messaging, O=Contoso, C=US",
                                     {"mail.contoso.com", "autodiscover.contoso.com"},
                                     "ECDSA",
                                     384})
                          .value();
    auto key = generate_request_key(*context(), spec).value();
    CHECK(EVP_PKEY_get_bits(key.get()) == 384);
    const auto pem = make_request_pem(*context(), key.get(), spec).value();
    BioPtr in = memory_bio(pem.data(), pem.size());
    X509ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
    REQUIRE(req);
    EvpPkeyPtr pub(X509_REQ_get_pubkey(req.get()));
    CHECK(X509_REQ_verify(req.get(), pub.get()) == 1);
    CHECK(public_key_sha256(pub.get()) == public_key_sha256(key.get()));
    CHECK(public_key_sha256(key.get()).size() == 64);
    BioPtr name(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(name.get(), X509_REQ_get_subject_name(req.get()), 0, XN_FLAG_RFC2253);
    CHECK(bio_contents(name.get()) == "CN=mail.contoso.com,OU=Messaging,O=Contoso,C=US");
    OsslPtr<STACK_OF(X509_EXTENSION), free_extensions> extensions(X509_REQ_get_extensions(req.get()));
    REQUIRE(extensions);
    GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(extensions.get(), NID_subject_alt_name, nullptr, nullptr)));
    REQUIRE(names);
    std::vector<std::string> dns;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names.get(), i);
        REQUIRE(entry->type == GEN_DNS);
        dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(entry->d.dNSName)),
                         static_cast<std::size_t>(ASN1_STRING_length(entry->d.dNSName)));
    }
    CHECK(dns == std::vector<std::string>{"mail.contoso.com", "autodiscover.contoso.com"});
    const auto id = request_id(pem).value();
    CHECK(id.size() == 40);
    CHECK(request_id(pem).value() == id);
}

TEST_CASE("the agent's pending request: listed, completed by its CA's answer, removable, tidied after a crash") {
    test::TempDir dir;
    const auto store = dir / "store";
    agent::AgentOptions options{"ex01", store, {}, false, {}};
    const auto ca = make_ca(*context(), "Test Request CA", std::chrono::hours(240)).value();
    std::string thumbprint;
    std::string request_dir;
    {
        auto service = agent::AgentService::open(options, context()).value();
        const auto spec = check_request({"", {"mail.contoso.com"}, "RSA", 2048}).value();
        auto made = service->create_request({spec, "Contoso", true, "job1/ex01"}).value();
        CHECK(made.created);
        CHECK(made.request["status"] == "PendingRequest");
        request_dir = made.request["thumbprint"];
        // The same key: the same request, no second key pair.
        auto again = service->create_request({spec, "Contoso", true, "job1/ex01"}).value();
        CHECK_FALSE(again.created);
        CHECK(again.request["thumbprint"] == request_dir);
        CHECK(service->pending_requests().size() == 1);
        CHECK(std::filesystem::exists(store / request_dir / "key.pem"));

        // A second request, removed: its directory and key go.
        auto other = service->create_request({spec, "", false, ""}).value();
        const std::string other_id = other.request["thumbprint"];
        CHECK(service->remove(other_id).has_value());
        CHECK_FALSE(std::filesystem::exists(store / other_id));
        CHECK(service->pending_requests().size() == 1);

        // The answer, without a key, completes the request; the request's choices come with it.
        const auto issued = answer(ca, made.request["certificateRequest"], "mail.contoso.com");
        const auto pem = issued.to_pem();
        thumbprint = issued.thumbprint();
        std::filesystem::copy(store / request_dir, dir / "saved-request", std::filesystem::copy_options::recursive);
        auto installed = service->install(thumbprint, pem, nullptr, false, "").value();
        CHECK(installed.installed);
        CHECK(installed.completedRequest);
        CHECK(installed.certificate["hasPrivateKey"] == true);
        CHECK(installed.certificate["privateKeyExportable"] == true);
        CHECK(installed.certificate["friendlyName"] == "Contoso");
        CHECK(service->pending_requests().empty());
        CHECK_FALSE(std::filesystem::exists(store / request_dir));
        // Twice: already installed, nothing changes.
        auto twice = service->install(thumbprint, pem, nullptr, false, "").value();
        CHECK_FALSE(twice.installed);
    }
    // A crash between writing the certificate and deleting its request leaves both: the next start finishes.
    std::filesystem::copy(dir / "saved-request", store / request_dir, std::filesystem::copy_options::recursive);
    auto reopened = agent::AgentService::open(options, context()).value();
    CHECK(reopened->pending_requests().empty());
    CHECK_FALSE(std::filesystem::exists(store / request_dir));
    CHECK(reopened->get(thumbprint).value()["hasPrivateKey"] == true);
}
