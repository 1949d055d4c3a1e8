#include "service/controller/server_registry.hpp"

#include <boost/url/parse.hpp>
#include <chrono>

#include "service/controller/store_errors.hpp"
#include "service/json_result.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/dev_pki.hpp"
#include "service/time/rfc3339.hpp"

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
    if (!pki::valid_agent_name(name)) {
        return invalid("a server name is a host name: letters, digits, '-' and '.', up to 253 characters");
    }
    return {};
}

nlohmann::json view(const store::ServerRow& row) {
    auto labels = nlohmann::json::parse(row.labelsJson, nullptr, false);
    return {{"name", row.name},
            {"agentUrl", row.agentUrl},
            {"labels", labels.is_object() ? labels : nlohmann::json::object()},
            {"createdAt", row.createdAt},
            {"updatedAt", row.updatedAt},
            {"reachable", row.reachable ? nlohmann::json(*row.reachable) : nlohmann::json(nullptr)},
            {"agentVersion", row.agentVersion ? nlohmann::json(*row.agentVersion) : nlohmann::json(nullptr)},
            {"lastContact", row.lastContact ? nlohmann::json(*row.lastContact) : nlohmann::json(nullptr)}};
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

Result<PutOutcome> ServerRegistry::put(const std::string& name, const ServerSpec& spec) {
    if (auto ok = check_name(name); !ok) {
        return ok.error();
    }
    store::ServerRow row;
    row.name = name;
    row.agentUrl = spec.agentUrl;
    row.labelsJson = nlohmann::json(spec.labels).dump();
    row.updatedAt = rfc3339_now();
    auto created = store_->upsert_server(row);
    if (!created) {
        return from_store(created.error());
    }
    auto stored = store_->get_server(name);
    if (!stored || !*stored) {
        return stored ? make_error(ErrorCode::internal, "a server vanished while it was registered")
                      : from_store(stored.error());
    }
    return PutOutcome{*created, view(**stored)};
}

Result<nlohmann::json> ServerRegistry::get(const std::string& name) const {
    auto row = store_->get_server(name);
    if (!row) {
        return from_store(row.error());
    }
    if (!*row) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    return json_result(view(**row));
}

Result<nlohmann::json> ServerRegistry::list(const std::string& after, std::size_t limit) const {
    auto rows = store_->list_servers(after, limit + 1);  // one more tells whether a next page exists
    if (!rows) {
        return from_store(rows.error());
    }
    nlohmann::json servers = nlohmann::json::array();
    for (std::size_t i = 0; i < rows->size() && i < limit; ++i) {
        servers.push_back(view((*rows)[i]));
    }
    const bool more = rows->size() > limit;
    return json_result({{"servers", std::move(servers)},
                        {"next", more ? nlohmann::json((*rows)[limit - 1].name) : nlohmann::json(nullptr)}});
}

Result<void> ServerRegistry::remove(const std::string& name) {
    auto removed = store_->delete_server(name);
    if (!removed) {
        return from_store(removed.error());
    }
    if (!*removed) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    return {};
}

Result<std::vector<std::pair<std::string, std::string>>> ServerRegistry::agents() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::string after;
    for (;;) {
        auto rows = store_->list_servers(after, kMaxPageSize);
        if (!rows) {
            return from_store(rows.error());
        }
        for (const auto& row : *rows) {
            out.emplace_back(row.name, row.agentUrl);
        }
        if (rows->size() < kMaxPageSize) {
            return out;
        }
        after = rows->back().name;
    }
}

Result<void> ServerRegistry::record_contact(const std::string& name, bool reachable,
                                            const std::optional<std::string>& version) {
    if (auto done = store_->record_contact(name, reachable, version, rfc3339_now()); !done) {
        return from_store(done.error());
    }
    return {};
}

std::optional<store::InventoryRow> inventory_row(const std::string& server, const nlohmann::json& certificate,
                                                 const std::string& seen_at) {
    const auto text = [&](const char* key) -> const std::string* {
        auto it = certificate.find(key);
        return it != certificate.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
    };
    if (!certificate.is_object() || !text("thumbprint") || !text("status") || !text("notAfter")) {
        return std::nullopt;
    }
    return store::InventoryRow{server,          *text("thumbprint"), certificate.dump(),
                               *text("status"), *text("notAfter"),   seen_at};
}

Result<void> ServerRegistry::replace_inventory(const std::string& name, const nlohmann::json& certificates) {
    const std::string at = rfc3339_now();
    std::vector<store::InventoryRow> rows;
    for (const auto& cert : certificates) {
        if (auto row = inventory_row(name, cert, at)) {
            rows.push_back(std::move(*row));
        }
    }
    if (auto done = store_->replace_inventory(name, rows); !done) {
        return from_store(done.error());
    }
    return {};
}

Result<nlohmann::json> ServerRegistry::inventory(const store::InventoryFilter& filter) const {
    auto rows = store_->list_inventory(filter);
    if (!rows) {
        return from_store(rows.error());
    }
    nlohmann::json certificates = nlohmann::json::array();
    std::size_t thumbprints = 0;
    for (const auto& row : *rows) {
        if (certificates.empty() || certificates.back()["thumbprint"] != row.thumbprint) {
            auto described = nlohmann::json::parse(row.certificateJson, nullptr, false);
            nlohmann::json entry{{"thumbprint", row.thumbprint}, {"notAfter", row.notAfter}};
            if (described.is_object()) {
                for (const char* key : {"subject", "issuer", "certificateDomains", "notBefore", "friendlyName"}) {
                    if (described.contains(key)) {
                        entry[key] = described[key];
                    }
                }
            }
            entry["servers"] = nlohmann::json::array();
            certificates.push_back(std::move(entry));
            ++thumbprints;
        }
        auto described = nlohmann::json::parse(row.certificateJson, nullptr, false);
        nlohmann::json services =
            described.is_object() && described.contains("services") ? described["services"] : nlohmann::json::array();
        certificates.back()["servers"].push_back(
            {{"server", row.server}, {"status", row.status}, {"services", services}, {"seenAt", row.seenAt}});
    }
    nlohmann::json next = thumbprints == filter.limit && !certificates.empty() ? certificates.back()["thumbprint"]
                                                                               : nlohmann::json(nullptr);
    return json_result({{"certificates", std::move(certificates)}, {"next", next}});
}

Result<std::string> ServerRegistry::agent_url(const std::string& name) const {
    auto row = store_->get_server(name);
    if (!row) {
        return from_store(row.error());
    }
    if (!*row) {
        return make_error(ErrorCode::server_not_found, "no server named " + name + " is registered");
    }
    return (*row)->agentUrl;
}

}  // namespace certdeploy::controller
