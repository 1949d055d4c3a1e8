#include "service/controller/fleet_metrics.hpp"

#include <nlohmann/json.hpp>

#include "service/controller/store_errors.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::controller {
namespace {

using nlohmann::json;

double unix_seconds(std::chrono::system_clock::time_point when) {
    return std::chrono::duration<double>(when.time_since_epoch()).count();
}

std::string text_of(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<void> render_certificates(store::ControllerStore& store, metrics::Exposition& out,
                                 std::chrono::system_clock::time_point now) {
    struct Series {
        metrics::Labels labels;
        double notBefore;
        double notAfter;
    };
    std::vector<Series> series;
    store::InventoryFilter filter;
    filter.limit = 1000;
    for (;;) {
        auto page = store.list_inventory(filter);
        if (!page) {
            return from_store(page.error());
        }
        for (const auto& row : *page) {
            const auto described = json::parse(row.certificateJson, nullptr, false);
            const json certificate = described.is_object() ? described : json::object();
            const auto not_after = parse_rfc3339(row.notAfter);
            if (!not_after) {
                continue;  // the store keeps what an agent said; a date it cannot read makes no series
            }
            const auto not_before = parse_rfc3339(text_of(certificate, "notBefore"));
            series.push_back({{{"issuer_CN", common_name(text_of(certificate, "issuer"))},
                               {"serial_number", text_of(certificate, "serialNumber")},
                               {"server", row.server},
                               {"status", row.status},
                               {"subject_CN", common_name(text_of(certificate, "subject"))},
                               {"thumbprint", row.thumbprint}},
                              not_before ? unix_seconds(*not_before) : 0,
                              unix_seconds(*not_after)});
        }
        // A page holds up to `limit` thumbprints, each with all its servers' rows.
        if (page->empty() || filter.afterThumbprint == page->back().thumbprint) {
            break;
        }
        std::size_t thumbprints = 0;
        std::string last;
        for (const auto& row : *page) {
            if (row.thumbprint != last) {
                ++thumbprints;
                last = row.thumbprint;
            }
        }
        if (thumbprints < filter.limit) {
            break;
        }
        filter.afterThumbprint = last;
    }
    out.family("x509_cert_not_after", "gauge", "The certificate's notAfter, as a Unix timestamp (seconds).");
    for (const auto& s : series) {
        out.sample("x509_cert_not_after", s.labels, s.notAfter);
    }
    out.family("x509_cert_not_before", "gauge", "The certificate's notBefore, as a Unix timestamp (seconds).");
    for (const auto& s : series) {
        out.sample("x509_cert_not_before", s.labels, s.notBefore);
    }
    out.family("x509_cert_expired", "gauge", "1 when the certificate has expired, else 0.");
    const double at = unix_seconds(now);
    for (const auto& s : series) {
        out.sample("x509_cert_expired", s.labels, s.notAfter < at ? 1 : 0);
    }
    return {};
}

// One series per server whose `member` (an RFC 3339 time) is known.
void timestamps(metrics::Exposition& out, const std::vector<store::ServerRow>& servers, const char* name,
                const char* help, std::optional<std::string> store::ServerRow::*member) {
    out.family(name, "gauge", help);
    for (const auto& s : servers) {
        const auto& text = s.*member;
        if (auto when = text ? parse_rfc3339(*text) : std::nullopt) {
            out.sample(name, {{"server", s.name}}, unix_seconds(*when));
        }
    }
}

Result<void> render_agents(store::ControllerStore& store, metrics::Exposition& out) {
    std::vector<store::ServerRow> servers;
    std::string after;
    for (;;) {
        auto page = store.list_servers(after, 1000);
        if (!page) {
            return from_store(page.error());
        }
        servers.insert(servers.end(), page->begin(), page->end());
        if (page->size() < 1000) {
            break;
        }
        after = page->back().name;
    }
    out.family("certdeploy_agent_up", "gauge", "1 when the server's agent answered its last health probe, else 0.");
    for (const auto& s : servers) {
        out.sample("certdeploy_agent_up", {{"server", s.name}}, s.reachable.value_or(false) ? 1 : 0);
    }
    timestamps(out, servers, "certdeploy_agent_last_contact_timestamp_seconds",
               "When the server's agent last answered, as a Unix timestamp (seconds).", &store::ServerRow::lastContact);
    out.family("certdeploy_agent_info", "gauge", "The server's agent version, as its label (value 1).");
    for (const auto& s : servers) {
        if (s.agentVersion) {
            out.sample("certdeploy_agent_info", {{"server", s.name}, {"version", *s.agentVersion}}, 1);
        }
    }
    timestamps(out, servers, "certdeploy_agent_identity_expiry_timestamp_seconds",
               "When an enrolled agent's own certificate expires, as a Unix timestamp (seconds); it renews itself "
               "at two thirds of its life.",
               &store::ServerRow::identityNotAfter);
    out.family("certdeploy_agent_pending", "gauge", "1 when an enrolled server waits for an admin's approval.");
    for (const auto& s : servers) {
        out.sample("certdeploy_agent_pending", {{"server", s.name}}, s.pending ? 1 : 0);
    }
    return {};
}

}  // namespace

std::string common_name(std::string_view dn) {
    // Components are separated by ", " (the PKI module's summaries); a value never starts with a space.
    std::size_t start = 0;
    while (start < dn.size()) {
        auto end = dn.find(", ", start);
        if (end == std::string_view::npos) {
            end = dn.size();
        }
        const auto part = dn.substr(start, end - start);
        if (part.substr(0, 3) == "CN=") {
            return std::string(part.substr(3));
        }
        start = end + 2;
    }
    return {};
}

Result<void> render_fleet_metrics(store::ControllerStore& store, metrics::Exposition& out,
                                  std::chrono::system_clock::time_point now) {
    if (auto certificates = render_certificates(store, out, now); !certificates) {
        return certificates;
    }
    if (auto agents = render_agents(store, out); !agents) {
        return agents;
    }
    auto jobs = store.count_jobs();
    if (!jobs) {
        return from_store(jobs.error());
    }
    out.family("certdeploy_jobs", "gauge", "Jobs by kind and state, as the store holds them now.");
    for (const auto& count : *jobs) {
        out.sample("certdeploy_jobs", {{"kind", count.kind}, {"state", count.state}}, static_cast<double>(count.count));
    }
    return {};
}

}  // namespace certdeploy::controller
