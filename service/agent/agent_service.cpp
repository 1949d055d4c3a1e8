#include "service/agent/agent_service.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "certdeploy/version.hpp"
#include "service/fs/storage_error.hpp"
#include "service/json_result.hpp"
#include "service/log.hpp"
#include "service/pki/dev_pki.hpp"
#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::agent {
namespace {

// The files of one entry in the store.
constexpr const char* kCertFile = "certificate.pem";
constexpr const char* kChainFile = "chain.pem";
constexpr const char* kKeyFile = "key.pem";
constexpr const char* kMetaFile = "metadata.json";
constexpr const char* kRequestFile = "request.pem";  // a pending request's PKCS #10; its key is in kKeyFile
constexpr const char* kPendingStatus = "PendingRequest";

Error from_store(const store::StoreError& error) {
    return fs::storage_error(error.err, error.what);
}

Error not_found(const std::string& thumbprint) {
    return make_error(ErrorCode::certificate_not_found,
                      "no certificate with thumbprint " + thumbprint + " on this server");
}

std::vector<store::StoredFile> to_files(const AgentService::Entry& entry) {
    std::vector<store::StoredFile> files;
    files.push_back({kCertFile, entry.bundle.leaf.to_pem(), 0600});
    std::string chain;
    for (const auto& cert : entry.bundle.chain) {
        chain += cert.to_pem();
    }
    files.push_back({kChainFile, std::move(chain), 0600});
    if (entry.bundle.key) {
        auto key = pki::private_key_pem(entry.bundle.key.get());
        if (key) {
            files.push_back({kKeyFile, std::string(key->reveal()), 0600});  // wiped by the store once written
        }
    }
    const nlohmann::json meta = {{"thumbprint", entry.bundle.leaf.thumbprint()},
                                 {"friendlyName", entry.bundle.friendly_name},
                                 {"privateKeyExportable", entry.exportable},
                                 {"services", entry.services},
                                 {"installedAt", entry.installedAt},
                                 {"format", entry.format}};
    files.push_back({kMetaFile, meta.dump(2), 0600});
    return files;
}

std::vector<store::StoredFile> to_files(const AgentService::PendingRequest& request) {
    std::vector<store::StoredFile> files;
    if (auto key = pki::private_key_pem(request.key.get())) {
        files.push_back({kKeyFile, std::string(key->reveal()), 0600});  // wiped by the store once written
    }
    files.push_back({kRequestFile, request.csrPem, 0600});
    const nlohmann::json meta = {{"kind", "request"},
                                 {"subject", request.spec.subject},
                                 {"domains", request.spec.domains},
                                 {"keyAlgorithm", pki::key_algorithm_name(request.spec.keyAlgorithm)},
                                 {"keySize", request.spec.keySize},
                                 {"friendlyName", request.friendlyName},
                                 {"privateKeyExportable", request.exportable},
                                 {"requestedAt", request.requestedAt},
                                 {"idempotencyKey", request.idempotencyKey}};
    files.push_back({kMetaFile, meta.dump(2), 0600});
    return files;
}

Error invalid_thumbprint() {
    return make_error(ErrorCode::invalid_thumbprint,
                      "a thumbprint is 40 hexadecimal digits (colons and spaces allowed)");
}

std::string now_rfc3339() {
    return rfc3339_now();
}

}  // namespace

AgentService::AgentService(AgentOptions options, std::shared_ptr<const pki::PkiContext> ctx,
                           std::shared_ptr<const pki::TrustStore> trust)
    : options_(std::move(options)), ctx_(std::move(ctx)), trust_(std::move(trust)), store_(options_.storeDir) {}

Result<std::unique_ptr<AgentService>> AgentService::open(AgentOptions options,
                                                         std::shared_ptr<const pki::PkiContext> ctx) {
    CERTDEPLOY_TRY_ASSIGN(auto trust, pki::TrustStore::create(ctx, options.caFiles, options.useSystemRoots));
    auto service = std::make_unique<AgentService>(std::move(options), std::move(ctx), std::move(trust));
    CERTDEPLOY_TRY(service->load());
    if (service->entries_.empty() && service->requests_.empty()) {
        CERTDEPLOY_TRY_ASSIGN(auto bundle, pki::make_self_signed(service->options_.name, *service->ctx_));
        Entry entry{std::move(bundle), false, {}, now_rfc3339(), "pem", {}, {}, {}};
        summarise(entry);
        const std::string thumbprint = entry.bundle.leaf.thumbprint();
        CERTDEPLOY_TRY(service->save(thumbprint, entry));
        log::info("default certificate created",
                  {{"thumbprint", thumbprint}, {"subject", entry.bundle.leaf.subject()}});
        service->entries_.emplace(thumbprint, std::move(entry));
    }
    return service;
}

Result<void> AgentService::load() {
    CERTDEPLOY_TRY_AS(store_.open(), from_store);
    CERTDEPLOY_TRY_ASSIGN_AS(auto ids, store_.list(), from_store);
    for (const auto& id : ids) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto files, store_.get(id), from_store);
        if (!files) {
            continue;
        }
        std::string pem;
        std::string csr;
        nlohmann::json meta;
        for (auto& file : *files) {
            if (file.name == kMetaFile) {
                meta = nlohmann::json::parse(file.bytes, nullptr, false);
            } else if (file.name == kRequestFile) {
                csr = file.bytes;
            } else {
                pem += file.bytes;
            }
            wipe(file.bytes);
        }
        if (meta.is_object() && meta.value("kind", "") == "request") {
            load_request(id, meta, pem, csr);
            wipe(pem);
            continue;
        }
        auto bundle = pki::read_bundle(pem, nullptr, *ctx_);
        wipe(pem);
        if (!bundle || !meta.is_object() || bundle->leaf.thumbprint() != id) {
            // Never guessed at: an entry that does not read back is left on disk for an administrator.
            log::error("store entry unreadable, skipped", {{"entry", id}});
            continue;
        }
        bundle->friendly_name = meta.value("friendlyName", "");
        Entry entry{std::move(*bundle),
                    meta.value("privateKeyExportable", false),
                    meta.value("services", std::vector<std::string>{}),
                    meta.value("installedAt", ""),
                    meta.value("format", "pem"),
                    {},
                    {},
                    {}};
        summarise(entry);
        entries_.emplace(id, std::move(entry));
    }
    // A completion that a crash cut short between writing the certificate and deleting its request: the
    // certificate holds the key now, so the request is done.
    for (auto it = requests_.begin(); it != requests_.end();) {
        const bool completed = std::any_of(entries_.begin(), entries_.end(), [&](const auto& pair) {
            return pair.second.bundle.key && pair.second.bundle.leaf.matches_key(it->second.key.get());
        });
        if (completed) {
            CERTDEPLOY_TRY_AS(store_.remove(it->first), from_store);
            log::info("completed certificate request removed", {{"request", it->first}});
            it = requests_.erase(it);
        } else {
            ++it;
        }
    }
    return {};
}

void AgentService::load_request(const std::string& id, const nlohmann::json& meta, const std::string& key_pem,
                                const std::string& csr) {
    auto key = pki::read_request_key(*ctx_, key_pem);
    auto spec = pki::check_request({meta.value("subject", ""), meta.value("domains", std::vector<std::string>{}),
                                    meta.value("keyAlgorithm", ""), meta.value("keySize", 0)});
    auto csr_id = pki::request_id(csr);
    if (!key || !spec || !csr_id || *csr_id != id) {
        log::error("store entry unreadable, skipped", {{"entry", id}});
        return;
    }
    requests_.emplace(id, PendingRequest{std::move(*spec), std::move(*key), csr, meta.value("friendlyName", ""),
                                         meta.value("privateKeyExportable", false), meta.value("requestedAt", ""),
                                         meta.value("idempotencyKey", "")});
}

Result<void> AgentService::save(const std::string& thumbprint, const Entry& entry) {
    CERTDEPLOY_TRY_AS(store_.put(thumbprint, to_files(entry)), from_store);
    return {};
}

Result<void> AgentService::save(const std::string& id, const PendingRequest& request) {
    CERTDEPLOY_TRY_AS(store_.put(id, to_files(request)), from_store);
    return {};
}

nlohmann::json AgentService::describe(const std::string& id, const PendingRequest& request) const {
    // The columns of a certificate that a request already has; dates, issuer and chain come with the CA's answer.
    return {{"thumbprint", id},
            {"subject", request.spec.subject},
            {"certificateDomains", request.spec.domains},
            {"hasPrivateKey", true},
            {"publicKeySize", EVP_PKEY_get_bits(request.key.get())},
            {"keyAlgorithm", pki::key_algorithm(request.key.get())},
            {"publicKeySha256", pki::public_key_sha256(request.key.get())},
            {"friendlyName", request.friendlyName},
            {"privateKeyExportable", request.exportable},
            {"services", nlohmann::json::array()},
            {"status", kPendingStatus},
            {"requestedAt", request.requestedAt},
            {"certificateRequest", request.csrPem}};
}

const AgentService::PendingRequest* AgentService::matching_request(const pki::Bundle& bundle, std::string* id) const {
    for (const auto& [request_id, request] : requests_) {
        if (bundle.leaf.matches_key(request.key.get())) {
            *id = request_id;
            return &request;
        }
    }
    return nullptr;
}

void AgentService::summarise(Entry& entry) {
    entry.summary = pki::summarize(entry.bundle, pki::Status::valid);  // the status is set by each describe()
    entry.summary["format"] = entry.format;
    entry.summary["privateKeyExportable"] = entry.exportable;
    entry.summary["installedAt"] = entry.installedAt;
}

pki::Status AgentService::status_of(const Entry& entry) const {
    const auto now = std::chrono::system_clock::now();
    {
        std::lock_guard lock(status_mutex_);
        if (entry.status && now < entry.status->second) {
            return entry.status->first;
        }
    }
    const auto status = trust_->evaluate(entry.bundle, now);
    // The trust store does not change while the agent runs, so the status changes only when a certificate
    // of the chain becomes valid or expires (a root from the trust store is not looked at: hence the minute).
    auto until = now + std::chrono::minutes(1);
    auto bound = [&](const pki::Certificate& cert) {
        for (const auto date : {cert.not_before(), cert.not_after()}) {
            if (date >= now && date < until) {
                until = date;
            }
        }
    };
    bound(entry.bundle.leaf);
    for (const auto& cert : entry.bundle.chain) {
        bound(cert);
    }
    std::lock_guard lock(status_mutex_);
    entry.status.emplace(status, until);
    return status;
}

nlohmann::json AgentService::describe(const Entry& entry) const {
    return describe(entry, status_of(entry));
}

nlohmann::json AgentService::describe(const Entry& entry, pki::Status status) const {
    auto summary = entry.summary;
    summary["status"] = std::string(pki::status_name(status));
    summary["services"] = entry.services;
    return summary;
}

Result<std::string> AgentService::existing(std::string_view thumbprint) const {
    auto normalized = pki::normalize_thumbprint(thumbprint);
    if (!normalized) {
        return invalid_thumbprint();
    }
    if (entries_.count(*normalized) == 0) {
        return not_found(*normalized);
    }
    return *normalized;
}

Result<InstallOutcome> AgentService::install(std::string_view thumbprint, std::string_view file_bytes,
                                             const Secret* password, bool exportable,
                                             const std::string& friendly_name) {
    auto expected = pki::normalize_thumbprint(thumbprint);
    if (!expected) {
        return invalid_thumbprint();
    }
    // The same bytes with the same password as a file this entry came from: the same certificate, known
    // without the key derivation and decryption that make up nearly all of an install's cost.
    const auto digest = digester_.digest(password, file_bytes);
    if (digest) {
        std::shared_lock lock(mutex_);
        if (auto found = entries_.find(*expected); found != entries_.end()) {
            const auto& seen = found->second.seen;
            if (std::find(seen.begin(), seen.end(), *digest) != seen.end()) {
                log::debug("install answered from the file's digest", {{"thumbprint", *expected}});
                return InstallOutcome{false, false, describe(found->second)};
            }
        }
    }
    CERTDEPLOY_TRY_ASSIGN(auto bundle, pki::read_bundle(file_bytes, password, *ctx_));
    if (bundle.leaf.thumbprint() != *expected) {
        return make_error(ErrorCode::thumbprint_mismatch,
                          "the file's certificate has thumbprint " + bundle.leaf.thumbprint() + ", not " + *expected);
    }
    std::lock_guard change(change_mutex_);  // entries_ changes only under this; reading it here is safe
    if (auto found = entries_.find(*expected); found != entries_.end()) {
        // Another file of the same certificate (read and compared above): known from now on too.
        remember(found->second, digest);
        return InstallOutcome{false, false, describe(found->second)};
    }
    // A CA's answer to a request made here: the certificate joins the key that waited for it, with the
    // request's own choices unless the import makes others.
    std::string request_id;
    const PendingRequest* request = bundle.key ? nullptr : matching_request(bundle, &request_id);
    if (request != nullptr) {
        bundle.key = pki::share(request->key.get());
        exportable = exportable || request->exportable;
        if (bundle.friendly_name.empty()) {
            bundle.friendly_name = request->friendlyName;
        }
    }
    if (!friendly_name.empty()) {
        bundle.friendly_name = friendly_name;
    }
    const std::string format(pki::format_name(bundle.format));
    Entry entry{std::move(bundle), exportable, {}, now_rfc3339(), format, {}, {}, {}};
    summarise(entry);
    if (digest) {
        entry.seen.push_back(*digest);
    }
    CERTDEPLOY_TRY(save(*expected, entry));
    if (request != nullptr) {
        // After the certificate is written: a crash in between leaves both, and load() finishes the job.
        CERTDEPLOY_TRY_AS(store_.remove(request_id), from_store);
    }
    std::unique_lock lock(mutex_);
    if (request != nullptr) {
        requests_.erase(request_id);
        log::info("certificate request completed", {{"request", request_id}, {"thumbprint", *expected}});
    }
    auto it = entries_.emplace(*expected, std::move(entry)).first;
    log::info("certificate installed", {{"thumbprint", *expected}, {"exportable", it->second.exportable}});
    return InstallOutcome{true, request != nullptr, describe(it->second)};
}

void AgentService::remember(Entry& entry, const std::optional<pki::ContentDigest>& digest) {
    constexpr std::size_t kKept = 4;  // the files a fleet is usually sent for one certificate: a few at most
    if (!digest || std::find(entry.seen.begin(), entry.seen.end(), *digest) != entry.seen.end()) {
        return;
    }
    std::unique_lock lock(mutex_);
    if (entry.seen.size() == kKept) {
        entry.seen.erase(entry.seen.begin());
    }
    entry.seen.push_back(*digest);
}

nlohmann::json AgentService::list(std::optional<pki::Status> status) const {
    std::shared_lock lock(mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [thumbprint, entry] : entries_) {
        const auto entry_status = status_of(entry);
        if (status && entry_status != *status) {
            continue;
        }
        out.push_back(describe(entry, entry_status));
    }
    if (!status) {
        for (const auto& [id, request] : requests_) {
            out.push_back(describe(id, request));
        }
    }
    return out;
}

nlohmann::json AgentService::pending_requests() const {
    std::shared_lock lock(mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [id, request] : requests_) {
        out.push_back(describe(id, request));
    }
    return out;
}

Result<RequestOutcome> AgentService::create_request(const NewRequest& request) {
    if (!request.idempotencyKey.empty()) {
        std::shared_lock lock(mutex_);
        for (const auto& [id, pending] : requests_) {
            if (pending.idempotencyKey == request.idempotencyKey) {
                return RequestOutcome{false, describe(id, pending)};
            }
        }
    }
    // The slow part (an RSA key) outside every lock.
    CERTDEPLOY_TRY_ASSIGN(auto key, pki::generate_request_key(*ctx_, request.spec));
    CERTDEPLOY_TRY_ASSIGN(auto csr, pki::make_request_pem(*ctx_, key.get(), request.spec));
    CERTDEPLOY_TRY_ASSIGN(auto id, pki::request_id(csr));
    PendingRequest pending{request.spec,       std::move(key), std::move(csr),        request.friendlyName,
                           request.exportable, now_rfc3339(),  request.idempotencyKey};
    std::lock_guard change(change_mutex_);
    if (!request.idempotencyKey.empty()) {
        // Asked twice at once with one key: the first one made stands.
        for (const auto& [other_id, other] : requests_) {
            if (other.idempotencyKey == request.idempotencyKey) {
                return RequestOutcome{false, describe(other_id, other)};
            }
        }
    }
    CERTDEPLOY_TRY(save(id, pending));
    std::unique_lock lock(mutex_);
    auto it = requests_.emplace(id, std::move(pending)).first;
    log::info("certificate request created",
              {{"request", id},
               {"subject", it->second.spec.subject},
               {"keyAlgorithm", std::string(pki::key_algorithm_name(it->second.spec.keyAlgorithm))}});
    return RequestOutcome{true, describe(id, it->second)};
}

Result<nlohmann::json> AgentService::get(std::string_view thumbprint) const {
    std::shared_lock lock(mutex_);
    if (auto id = pki::normalize_thumbprint(thumbprint)) {
        if (auto request = requests_.find(*id); request != requests_.end()) {
            return json_result(describe(*id, request->second));
        }
    }
    CERTDEPLOY_TRY_ASSIGN(auto id, existing(thumbprint));
    return json_result(describe(entries_.at(id)));
}

Result<nlohmann::json> AgentService::enable(std::string_view thumbprint, const std::vector<std::string>& services) {
    // Changes are made one at a time; readers are not held up while a reload command runs (up to twice its
    // timeout), only for the moment the bindings are recorded.
    std::lock_guard change(change_mutex_);
    CERTDEPLOY_TRY_ASSIGN(auto id, existing(thumbprint));
    std::vector<std::string> unknown;
    for (const auto& name : services) {
        if (options_.services.count(name) == 0) {
            unknown.push_back(name);
        }
    }
    if (services.empty() || !unknown.empty()) {
        std::string known;
        for (const auto& [name, binding] : options_.services) {
            known += (known.empty() ? "" : ", ") + name;
        }
        std::string names;
        for (const auto& name : unknown) {
            names += (names.empty() ? "" : ", ") + name;
        }
        return make_error(
            ErrorCode::unknown_service,
            (services.empty() ? std::string("no service named") : "no such service on this server: " + names) +
                " (this server has: " + (known.empty() ? "none" : known) + ")");
    }
    Entry& entry = entries_.at(id);
    if (!entry.bundle.key) {
        return make_error(ErrorCode::no_private_key, "the certificate has no private key, so no service can use it");
    }
    for (const auto& name : services) {
        if (std::find(entry.services.begin(), entry.services.end(), name) != entry.services.end()) {
            continue;  // bound already: enabling again changes nothing
        }
        CERTDEPLOY_TRY(apply_binding(options_.services.at(name), entry.bundle, *ctx_));
        // The service now uses this certificate: record it here, and no longer on the one it used before.
        std::unique_lock lock(mutex_);
        entry.services.push_back(name);
        if (auto saved = save(id, entry); !saved) {
            entry.services.pop_back();  // memory stays what the disk says
            return saved.error();
        }
        for (auto& [other_id, other] : entries_) {
            auto it = std::find(other.services.begin(), other.services.end(), name);
            if (other_id == id || it == other.services.end()) {
                continue;
            }
            other.services.erase(it);
            CERTDEPLOY_TRY(save(other_id, other));
        }
        log::info("certificate enabled for a service", {{"thumbprint", id}, {"service", name}});
    }
    std::shared_lock lock(mutex_);
    return json_result(describe(entry));
}

Result<std::string> AgentService::export_pkcs12(std::string_view thumbprint, const Secret& password,
                                                pki::Pkcs12Profile profile) const {
    std::shared_lock lock(mutex_);
    CERTDEPLOY_TRY_ASSIGN(auto id, existing(thumbprint));
    const Entry& entry = entries_.at(id);
    if (!entry.bundle.key) {
        return make_error(ErrorCode::no_private_key, "the certificate has no private key to export");
    }
    // Enforced here, on every export: the flag is not merely recorded.
    if (!entry.exportable) {
        return make_error(ErrorCode::not_exportable,
                          "the private key was installed as not exportable (privateKeyExportable: false)");
    }
    return pki::write_pkcs12(entry.bundle, password, profile, *ctx_);
}

Result<void> AgentService::remove(std::string_view thumbprint) {
    std::lock_guard change(change_mutex_);
    if (auto request_id = pki::normalize_thumbprint(thumbprint); request_id && requests_.count(*request_id) != 0) {
        // Its key goes with it: a CA's answer to it can no longer be completed here.
        CERTDEPLOY_TRY_AS(store_.remove(*request_id), from_store);
        std::unique_lock lock(mutex_);
        requests_.erase(*request_id);
        log::info("certificate request removed", {{"request", *request_id}});
        return {};
    }
    CERTDEPLOY_TRY_ASSIGN(auto id, existing(thumbprint));
    const Entry& entry = entries_.at(id);
    if (!entry.services.empty()) {
        std::string names;
        for (const auto& name : entry.services) {
            names += (names.empty() ? "" : ", ") + name;
        }
        return make_error(ErrorCode::certificate_in_use,
                          "the certificate is bound to " + names + "; enable another certificate for them first");
    }
    CERTDEPLOY_TRY_AS(store_.remove(id), from_store);
    std::unique_lock lock(mutex_);
    entries_.erase(id);
    log::info("certificate removed", {{"thumbprint", id}});
    return {};
}

nlohmann::json AgentService::health() const {
    std::shared_lock lock(mutex_);
    std::optional<std::chrono::system_clock::time_point> soonest;
    for (const auto& [id, entry] : entries_) {
        const auto not_after = entry.bundle.leaf.not_after();
        if (!soonest || not_after < *soonest) {
            soonest = not_after;
        }
    }
    return {{"status", "ok"},
            {"name", options_.name},
            {"version", kVersion},
            {"certificates", entries_.size()},
            {"soonestNotAfter", soonest ? nlohmann::json(rfc3339(*soonest)) : nlohmann::json(nullptr)}};
}

}  // namespace certdeploy::agent
