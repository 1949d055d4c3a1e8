#pragma once
// What the agent does, independent of HTTP: Import-, Get-, Enable-, Export- and Remove-ExchangeCertificate
// for this server, over a certificate store on disk and the services the configuration names.
// Thread-safe: reads share a lock; changes are made one at a time, and hold the readers' lock only while
// they record their result (never while a reload command runs).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "service/agent/service_binding.hpp"
#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/certificate_request.hpp"
#include "service/pki/content_digest.hpp"
#include "service/pki/trust.hpp"
#include "service/pki/writer.hpp"
#include "service/secret.hpp"
#include "store/certificate_directory_store.hpp"

namespace certdeploy::agent {

struct AgentOptions {
    std::string name;                            // this server's name, used for the default certificate
    std::filesystem::path storeDir;              // the certificate store (0700)
    std::vector<std::filesystem::path> caFiles;  // extra trusted roots for status
    bool useSystemRoots = true;
    std::map<std::string, ServiceBinding> services;
};

struct InstallOutcome {
    bool installed = false;         // false: it was there already and nothing changed
    bool completedRequest = false;  // the file had no key: it completed a pending request, whose key it has now
    nlohmann::json certificate;
};

// New-ExchangeCertificate -GenerateRequest's parameters, checked.
struct NewRequest {
    pki::RequestSpec spec;
    std::string friendlyName;
    bool exportable = false;
    std::string idempotencyKey;  // empty: none; the same key answers the same pending request
};

struct RequestOutcome {
    bool created = false;  // false: the idempotency key's earlier request
    nlohmann::json request;
};

class AgentService {
  public:
    // Opens (or creates) the store and loads it; an empty store receives a self-signed default certificate.
    static Result<std::unique_ptr<AgentService>> open(AgentOptions options, std::shared_ptr<const pki::PkiContext> ctx);

    // `thumbprint` as given in the URL; it must match the file's leaf (thumbprint-mismatch).
    Result<InstallOutcome> install(std::string_view thumbprint, std::string_view file_bytes, const Secret* password,
                                   bool exportable, const std::string& friendly_name);
    // Certificates (all, or those with `status`) and, unless a status is asked for, pending requests.
    nlohmann::json list(std::optional<pki::Status> status) const;
    nlohmann::json pending_requests() const;
    // The key pair is made here and never leaves this server but in an export of the completed certificate.
    Result<RequestOutcome> create_request(const NewRequest& request);
    Result<nlohmann::json> get(std::string_view thumbprint) const;
    // Binds the certificate to `services` (additive); a service bound to another certificate moves to this one.
    Result<nlohmann::json> enable(std::string_view thumbprint, const std::vector<std::string>& services);
    Result<std::string> export_pkcs12(std::string_view thumbprint, const Secret& password,
                                      pki::Pkcs12Profile profile) const;
    Result<void> remove(std::string_view thumbprint);
    // name, version, certificates, soonestNotAfter.
    nlohmann::json health() const;

    struct Entry {
        pki::Bundle bundle;
        bool exportable = false;
        std::vector<std::string> services;
        std::string installedAt;
        std::string format;  // of the file it was installed from
        // Files (with their passwords) known to hold this certificate: a byte-identical re-install is answered
        // from these without decrypting. In memory only; the newest few.
        std::vector<pki::ContentDigest> seen;
        // What describe() answers but for the status: made once (summarising calls OpenSSL's encoders).
        nlohmann::json summary;
        // The last status evaluated and until when it holds (no certificate of the chain changes validity
        // before then); under status_mutex_.
        mutable std::optional<std::pair<pki::Status, std::chrono::system_clock::time_point>> status;
    };

    // A certificate request waiting for its CA's answer: the key pair, and what was asked.
    struct PendingRequest {
        pki::RequestSpec spec;
        pki::EvpPkeyPtr key;
        std::string csrPem;
        std::string friendlyName;
        bool exportable = false;
        std::string requestedAt;
        std::string idempotencyKey;
    };

    AgentService(AgentOptions options, std::shared_ptr<const pki::PkiContext> ctx,
                 std::shared_ptr<const pki::TrustStore> trust);

  private:
    Result<void> load();
    void load_request(const std::string& id, const nlohmann::json& meta, const std::string& key_pem,
                      const std::string& csr);
    Result<void> save(const std::string& thumbprint, const Entry& entry);
    Result<void> save(const std::string& id, const PendingRequest& request);
    // A file's certificate given without its key takes a pending request's key, when one matches.
    const PendingRequest* matching_request(const pki::Bundle& bundle, std::string* id) const;
    nlohmann::json describe(const std::string& id, const PendingRequest& request) const;
    nlohmann::json describe(const Entry& entry) const;
    nlohmann::json describe(const Entry& entry, pki::Status status) const;  // status already evaluated
    // The entry's status now: remembered until the next date in its chain, at most a minute.
    pki::Status status_of(const Entry& entry) const;
    // Fills entry.summary from its bundle (after any change to what it describes).
    static void summarise(Entry& entry);
    Result<std::string> existing(std::string_view thumbprint) const;  // normalised, known: else an Error
    // Records that `digest` is a file holding `entry` (under the change lock).
    void remember(Entry& entry, const std::optional<pki::ContentDigest>& digest);

    AgentOptions options_;
    std::shared_ptr<const pki::PkiContext> ctx_;
    std::shared_ptr<const pki::TrustStore> trust_;
    store::CertificateDirectoryStore store_;
    pki::ContentDigester digester_;
    std::mutex change_mutex_;                         // one change at a time: install, enable, remove
    mutable std::shared_mutex mutex_;                 // entries_: shared to read, unique (briefly) to change
    mutable std::mutex status_mutex_;                 // Entry::status
    std::map<std::string, Entry> entries_;            // by thumbprint
    std::map<std::string, PendingRequest> requests_;  // by request id (SHA-1 of the request)
};

}  // namespace certdeploy::agent
