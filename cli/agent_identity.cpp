#include "cli/agent_identity.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/clients/controller_client.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/json_result.hpp"
#include "service/net/host_name.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/fleet_ca.hpp"
#include "service/pki/issuer.hpp"
#include "service/pki/writer.hpp"
#include "service/secret.hpp"
#include "service/try.hpp"

namespace certdeploy::cli {
namespace {

using nlohmann::json;

Error config_error(std::string message, std::string detail = {}) {
    return make_error(ErrorCode::invalid_config, std::move(message), std::move(detail));
}

Result<void> check_controller_url(const std::string& url) {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || (parsed->scheme() != "https" && parsed->scheme() != "http") || parsed->host().empty()) {
        return config_error("invalid value for key \"controller\": expected https://HOST:PORT");
    }
    if (parsed->scheme() == "http" && !net::is_loopback(std::string(parsed->host()))) {
        return config_error(
            "invalid value for key \"controller\": http:// only on a loopback address (the join "
            "token and certificates would cross in the clear); use https://");
    }
    return {};
}

// The answer's problem as an error (its code when it is one of ours), or the JSON body.
Result<json> answer(const Result<api::ControllerClient::Reply>& reply, const std::string& what) {
    if (!reply) {
        return make_error(reply.error().code, "cannot " + what + ": " + reply.error().message, reply.error().detail);
    }
    auto body = json::parse(reply->body, nullptr, false);
    if (reply->status >= 300) {
        std::string code = body.is_object() ? body.value("code", "") : "";
        std::string detail = body.is_object() ? body.value("detail", "") : "";
        const auto known = code_from_string(code);
        return make_error(known.value_or(ErrorCode::agent_error), "the controller refused to " + what + ": HTTP " +
                                                                      std::to_string(reply->status) + " " + code +
                                                                      (detail.empty() ? "" : ": " + detail));
    }
    if (!body.is_object()) {
        return make_error(ErrorCode::agent_error, "the controller's answer to " + what + " is not a JSON object");
    }
    return json_result(std::move(body));
}

// The certificate answered, stored with its key in one file (0600), atomically.
Result<Validity> store_identity(const IdentityFiles& files, const std::string& certificate_pem, EVP_PKEY* key) {
    pki::BioPtr in = pki::memory_bio(certificate_pem.data(), certificate_pem.size());
    pki::X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    if (!cert || X509_check_private_key(cert.get(), key) != 1) {
        pki::drain_errors();
        return make_error(ErrorCode::agent_error, "the controller answered a certificate that is not for this key");
    }
    const pki::Certificate issued(std::move(cert));
    CERTDEPLOY_TRY_ASSIGN(auto key_pem, pki::private_key_pem(key));
    std::string both = issued.to_pem() + std::string(key_pem.reveal());
    auto written = fs::write_file_atomically(files.pem, both, 0600);
    wipe(both);
    CERTDEPLOY_TRY(written);
    return Validity{issued.not_before(), issued.not_after()};
}

}  // namespace

IdentityFiles identity_files(const std::filesystem::path& dir) {
    return {dir / "agent.pem", dir / "ca.pem"};
}

bool has_identity(const std::filesystem::path& dir) {
    std::error_code ec;
    const auto files = identity_files(dir);
    return std::filesystem::exists(files.pem, ec) && std::filesystem::exists(files.ca, ec);
}

std::optional<std::string> normalize_fingerprint(const std::string& text) {
    std::string hex;
    std::string_view rest = text;
    if (rest.size() > 7 && (rest.substr(0, 7) == "sha256:" || rest.substr(0, 7) == "SHA256:")) {
        rest.remove_prefix(7);
    }
    for (char c : rest) {
        if (c == ':') {
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return std::nullopt;
        }
        hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (hex.size() != 64) {
        return std::nullopt;
    }
    return "sha256:" + hex;
}

Result<Validity> identity_validity(const std::filesystem::path& dir) {
    CERTDEPLOY_TRY_ASSIGN(auto text, fs::read_file(identity_files(dir).pem, 1024 * 1024));
    pki::BioPtr in = pki::memory_bio(text.data(), text.size());
    pki::X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    wipe(text);
    if (!cert) {
        pki::drain_errors();
        return config_error(identity_files(dir).pem.string() + " holds no certificate");
    }
    const pki::Certificate current(std::move(cert));
    return Validity{current.not_before(), current.not_after()};
}

Result<Validity> enrol(const EnrolSettings& settings, const pki::PkiContext& ctx) {
    pki::ScopedDefaultContext scope(ctx);
    CERTDEPLOY_TRY(check_controller_url(settings.controller));
    if (!settings.joinTokenFile) {
        return config_error(
            "this agent has no identity yet: give \"joinTokenFile\" (a join token from the "
            "controller: POST /v1/join-tokens or certdeploy token join)");
    }
    std::optional<std::string> pin;
    if (settings.caFingerprint) {
        pin = normalize_fingerprint(*settings.caFingerprint);
        if (!pin) {
            return config_error("invalid value for key \"caFingerprint\": expected sha256: and 64 hex digits");
        }
    } else if (settings.controllerCa) {
        CERTDEPLOY_TRY_ASSIGN(auto pem, fs::read_file(*settings.controllerCa, 1024 * 1024));
        pin = pki::certificate_fingerprint(pem);
        if (!pin) {
            return config_error("invalid value for key \"controllerCa\": " + settings.controllerCa->string() +
                                " is not a PEM certificate");
        }
    } else {
        return config_error(
            "give \"caFingerprint\" (what POST /v1/join-tokens answered) or \"controllerCa\": "
            "the agent trusts no controller it cannot check");
    }

    // 1. The fleet CA, checked against the pin before anything that matters is sent.
    api::ControllerClient::Options fetch_options;
    fetch_options.url = settings.controller;
    fetch_options.verify_server = false;
    CERTDEPLOY_TRY_ASSIGN(auto fetch, api::ControllerClient::create(fetch_options));
    CERTDEPLOY_TRY_ASSIGN(auto ca_answer, answer(fetch->request("GET", "/enrol/v1/ca"), "give its CA"));
    const std::string ca_pem = ca_answer.value("ca", "");
    const auto fingerprint = pki::certificate_fingerprint(ca_pem);
    if (!fingerprint || *fingerprint != *pin) {
        return make_error(ErrorCode::invalid_config, "the controller's fleet CA has the fingerprint " +
                                                         fingerprint.value_or("(none)") + ", not the pinned " + *pin +
                                                         ": refusing to enrol (nothing was sent)");
    }
    CERTDEPLOY_TRY(fs::ensure_directory(settings.identityDir, 0700));
    const auto files = identity_files(settings.identityDir);
    CERTDEPLOY_TRY(fs::write_file_atomically(files.ca, ca_pem, 0644));

    // 2. A key pair made here, and a certificate request with the join token.
    CERTDEPLOY_TRY_ASSIGN(auto key, pki::new_ec_key(ctx));
    CERTDEPLOY_TRY_ASSIGN(auto csr, pki::make_csr_pem(ctx, key.get(), settings.name));
    CERTDEPLOY_TRY_ASSIGN(auto token_text, fs::read_file(*settings.joinTokenFile, 4096));
    std::string token(token_text.begin(), std::find_if(token_text.begin(), token_text.end(), [](char c) {
                          return std::isspace(static_cast<unsigned char>(c));
                      }));
    wipe(token_text);
    api::ControllerClient::Options join_options;
    join_options.url = settings.controller;
    if (settings.controller.rfind("https://", 0) == 0) {
        join_options.ca_file = files.ca.string();  // the controller's API certificate comes from the fleet CA
    }
    join_options.token = token;
    wipe(token);
    auto join = api::ControllerClient::create(join_options);
    wipe(join_options.token);
    if (!join) {
        return join.error();
    }
    const json request{{"name", settings.name}, {"csr", csr}, {"agentUrl", settings.advertiseUrl}};
    auto reply = (*join)->request("POST", "/enrol/v1/join", request.dump(), "application/json");
    if (!reply && reply.error().message.find("TLS handshake") != std::string::npos) {
        return make_error(ErrorCode::invalid_config,
                          "cannot reach the controller over HTTPS: its API certificate is not issued by the fleet CA "
                          "(" +
                              *pin + ") or does not name " + settings.controller,
                          reply.error().detail);
    }
    CERTDEPLOY_TRY_ASSIGN(auto enrolled, answer(reply, "enrol this agent"));
    CERTDEPLOY_TRY_ASSIGN(auto validity, store_identity(files, enrolled.value("certificate", ""), key.get()));
    std::error_code ec;
    std::filesystem::remove(*settings.joinTokenFile, ec);  // used: it opens nothing any more
    return validity;
}

Result<Validity> renew(const EnrolSettings& settings, const pki::PkiContext& ctx) {
    pki::ScopedDefaultContext scope(ctx);
    const auto files = identity_files(settings.identityDir);
    api::ControllerClient::Options options;
    options.url = settings.controller;
    options.ca_file = files.ca.string();
    options.cert_file = files.pem.string();
    options.key_file = files.pem.string();
    CERTDEPLOY_TRY_ASSIGN(auto client, api::ControllerClient::create(options));
    CERTDEPLOY_TRY_ASSIGN(auto key, pki::new_ec_key(ctx));
    CERTDEPLOY_TRY_ASSIGN(auto csr, pki::make_csr_pem(ctx, key.get(), settings.name));
    CERTDEPLOY_TRY_ASSIGN(
        auto renewed, answer(client->request("POST", "/enrol/v1/renew", json{{"csr", csr}}.dump(), "application/json"),
                             "renew this agent's certificate"));
    return store_identity(files, renewed.value("certificate", ""), key.get());
}

}  // namespace certdeploy::cli
