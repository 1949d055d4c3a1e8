#include "service/controller/server_registry.hpp"

#include <boost/url/parse.hpp>
#include <chrono>

#include "service/controller/store_errors.hpp"
#include "service/net/host_name.hpp"
#include "service/pki/certificate.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

Error invalid(const std::string& message) {
    return make_error(ErrorCode::invalid_request, message);
}

bool valid_label_key(const std::string& key) {
    return !key.empty() && key.size() <= 63 &&
           key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") ==
               std::string::npos;
}

Result<void> check_name(const std::string& name) {
    if (!net::valid_host_name(name)) {
        return invalid("a server name is a host name: letters, digits, '-' and '.', up to 253 characters");
    }
    return {};
}

}  // namespace

Result<ServerSpec> parse_server_spec(const nlohmann::json& body) {
    if (!body.is_object()) {
        return invalid("the body must be a JSON object");
    }
    for (const auto& [key, value] : body.items()) {
        if (key != "agentUrl" && key != "labels") {
            return invalid("unknown field \"" + key + "\": expected agentUrl and labels");
        }
    }
    if (!body.contains("agentUrl") || !body["agentUrl"].is_string()) {
        return invalid("\"agentUrl\" is required: the agent's address, https://HOST:PORT");
    }
    const auto url_text = body["agentUrl"].get<std::string>();
    auto url = boost::urls::parse_absolute_uri(url_text);
    if (!url || url->scheme() != "https" || url->host().empty() || !url->has_port() || url->port_number() == 0 ||
        (!url->path().empty() && url->path() != "/") || url->has_query() || url->has_userinfo()) {
        return invalid("\"agentUrl\" must be https://HOST:PORT (agents speak HTTPS only)");
    }
    ServerSpec spec;
    spec.agentUrl = "https://" + std::string(url->encoded_host_and_port());
    if (body.contains("labels")) {
        const auto& labels = body["labels"];
        if (!labels.is_object()) {
            return invalid("\"labels\" must be an object of strings, e.g. {\"role\": \"mailbox\"}");
        }
        for (const auto& [key, value] : labels.items()) {
            if (!valid_label_key(key) || !value.is_string() || value.get<std::string>().size() > 253) {
                return invalid("\"labels\" must map names (letters, digits, '.', '_', '-', '/') to strings");
            }
            spec.labels[key] = value.get<std::string>();
        }
    }
    return spec;
}

ServerRegistry::ServerRegistry(std::shared_ptr<store::ControllerStore> store) : store_(std::move(store)) {}

Result<PutOutcome> ServerRegistry::put(const std::string& name, const ServerSpec& spec, bool pending) {
    CERTDEPLOY_TRY(check_name(name));
    store::ServerRow row;
    row.name = name;
    row.pending = pending;
    row.agentUrl = spec.agentUrl;
    row.labels = spec.labels;
    row.updatedAt = rfc3339_now();
    CERTDEPLOY_TRY_ASSIGN_AS(auto created, store_->upsert_server(row), from_store);
    auto stored = store_->get_server(name);
    if (!stored || !*stored) {
        return stored ? make_error(ErrorCode::internal, "a server vanished while it was registered")
                      : from_store(stored.error());
    }
    return PutOutcome{created, std::move(**stored)};
}

Result<store::ServerRow> ServerRegistry::get(const std::string& name) const {
    CERTDEPLOY_TRY_ASSIGN_AS(auto row, store_->get_server(name), from_store);
    if (!row) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    return std::move(*row);
}

Result<ServerPage> ServerRegistry::list(const std::string& after, std::size_t limit) const {
    ServerPage page;
    // One more tells whether a next page exists.
    CERTDEPLOY_TRY_ASSIGN_AS(page.servers, store_->list_servers(after, limit + 1), from_store);
    if (page.servers.size() > limit) {
        page.servers.resize(limit);
        page.next = page.servers.back().name;
    }
    return page;
}

Result<store::ServerRow> ServerRegistry::approve(const std::string& name) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto found, store_->approve_server(name, rfc3339_now()), from_store);
    if (!found) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    return get(name);
}

Result<void> ServerRegistry::remove(const std::string& name) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto removed, store_->delete_server(name), from_store);
    if (!removed) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    // An agent that enrolled itself loses its identity with its registration: its renewals are refused.
    CERTDEPLOY_TRY_ASSIGN_AS(auto revoked, store_->revoke_identities(name, rfc3339_now()), from_store);
    if (revocations_ != nullptr) {
        revocations_->add(revoked);
    }
    return {};
}

Result<void> ServerRegistry::refresh_revocations() {
    if (revocations_ == nullptr) {
        return {};
    }
    CERTDEPLOY_TRY_ASSIGN_AS(auto revoked, store_->revoked_identities(), from_store);
    revocations_->add(revoked);
    return {};
}

Result<std::vector<std::pair<std::string, std::string>>> ServerRegistry::agents() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::string after;
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_servers(after, kMaxPageSize), from_store);
        for (const auto& row : rows) {
            out.emplace_back(row.name, row.agentUrl);
        }
        if (rows.size() < kMaxPageSize) {
            return out;
        }
        after = rows.back().name;
    }
}

Result<void> ServerRegistry::record_contact(const std::string& name, bool reachable,
                                            const std::optional<std::string>& version) {
    CERTDEPLOY_TRY_AS(store_->record_contact(name, reachable, version, rfc3339_now()), from_store);
    return {};
}

std::optional<store::InventoryRow> inventory_row(const std::string& server, const nlohmann::json& certificate,
                                                 const std::string& seen_at) {
    const auto text = [&](const char* key) -> const std::string* {
        auto it = certificate.find(key);
        return it != certificate.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
    };
    if (!certificate.is_object() || !text("thumbprint") || !text("status")) {
        return std::nullopt;
    }
    // A pending request has no dates until its CA answers.
    const bool pending = *text("status") == "PendingRequest";
    if (!pending && !text("notAfter")) {
        return std::nullopt;
    }
    return store::InventoryRow{
        server, *text("thumbprint"), certificate.dump(), *text("status"), pending ? std::string() : *text("notAfter"),
        seen_at};
}

Result<bool> ServerRegistry::replace_inventory(const std::string& name, const nlohmann::json& certificates,
                                               const std::string& asked_at) {
    const std::string at = rfc3339_now();
    std::vector<store::InventoryRow> rows;
    for (const auto& cert : certificates) {
        if (auto row = inventory_row(name, cert, at)) {
            rows.push_back(std::move(*row));
        }
    }
    CERTDEPLOY_TRY_ASSIGN_AS(auto replaced, store_->replace_inventory(name, rows, asked_at), from_store);
    return replaced;
}

Result<InventoryPage> ServerRegistry::inventory(const store::InventoryFilter& filter) const {
    InventoryPage page;
    CERTDEPLOY_TRY_ASSIGN_AS(page.rows, store_->list_inventory(filter), from_store);
    std::size_t thumbprints = 0;
    for (std::size_t i = 0; i < page.rows.size(); ++i) {
        thumbprints += i == 0 || page.rows[i].thumbprint != page.rows[i - 1].thumbprint ? 1 : 0;
    }
    if (thumbprints == filter.limit && !page.rows.empty()) {
        page.next = page.rows.back().thumbprint;
    }
    return page;
}

Error out_of_scope(const Caller& caller, const std::vector<std::string>& names) {
    std::string list;
    for (const auto& name : names) {
        list += (list.empty() ? "" : ", ") + name;
    }
    std::string selector;
    for (const auto& [key, value] : caller.scope) {
        selector += (selector.empty() ? "" : ",") + key + "=" + value;
    }
    return make_error(ErrorCode::out_of_scope,
                      "the token " + caller.token + " reaches only servers labelled " + selector + ", not " + list);
}

Result<std::optional<std::set<std::string>>> ServerRegistry::reach(const Caller& caller) const {
    if (!caller.scoped) {
        return std::optional<std::set<std::string>>();
    }
    std::set<std::string> names;
    std::string after;
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_servers(after, kMaxPageSize), from_store);
        for (const auto& row : rows) {
            if (caller.reaches(row.labels)) {
                names.insert(row.name);
            }
        }
        if (rows.size() < kMaxPageSize) {
            return std::optional<std::set<std::string>>(std::move(names));
        }
        after = rows.back().name;
    }
}

Result<store::ServerRow> ServerRegistry::get_within(const std::string& name, const Caller& caller) const {
    CERTDEPLOY_TRY_ASSIGN(auto row, get(name));
    if (!caller.reaches(row.labels)) {
        return out_of_scope(caller, {name});
    }
    return row;
}

Result<std::string> ServerRegistry::agent_url(const std::string& name) const {
    CERTDEPLOY_TRY_ASSIGN(auto row, get(name));
    return std::move(row.agentUrl);
}

}  // namespace certdeploy::controller
