#pragma once
// What the agent does, independent of HTTP: Import-, Get-, Enable-, Export- and Remove-ExchangeCertificate
// for this server, over a certificate store on disk and the services the configuration names.
// Thread-safe: reads share a lock; changes are made one at a time, and hold the readers' lock only while
// they record their result (never while a reload command runs).

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
    bool installed = false;  // false: it was there already and nothing changed
    nlohmann::json certificate;
};

class AgentService {
  public:
    // Opens (or creates) the store and loads it; an empty store receives a self-signed default certificate.
    static Result<std::unique_ptr<AgentService>> open(AgentOptions options, std::shared_ptr<const pki::PkiContext> ctx);

    // `thumbprint` as given in the URL; it must match the file's leaf (thumbprint-mismatch).
    Result<InstallOutcome> install(std::string_view thumbprint, std::string_view file_bytes, const Secret* password,
                                   bool exportable, const std::string& friendly_name);
    nlohmann::json list(std::optional<pki::Status> status) const;
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
    };

    AgentService(AgentOptions options, std::shared_ptr<const pki::PkiContext> ctx,
                 std::shared_ptr<const pki::TrustStore> trust);

  private:
    Result<void> load();
    Result<void> save(const std::string& thumbprint, const Entry& entry);
    nlohmann::json describe(const Entry& entry) const;
    nlohmann::json describe(const Entry& entry, pki::Status status) const;  // status already evaluated
    Result<std::string> existing(std::string_view thumbprint) const;        // normalised, known: else an Error

    AgentOptions options_;
    std::shared_ptr<const pki::PkiContext> ctx_;
    std::shared_ptr<const pki::TrustStore> trust_;
    store::CertificateDirectoryStore store_;
    std::mutex change_mutex_;               // one change at a time: install, enable, remove
    mutable std::shared_mutex mutex_;       // entries_: shared to read, unique (briefly) to change
    std::map<std::string, Entry> entries_;  // by thumbprint
};

}  // namespace certdeploy::agent
