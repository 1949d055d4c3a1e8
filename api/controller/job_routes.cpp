// POST /v1/imports, the fleet operations as jobs, and /v1/jobs: decoding, then JobService.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <charconv>

#include "api/controller/controller_routes.hpp"
#include "api/controller/job_views.hpp"
#include "api/http/json_body.hpp"
#include "api/http/multipart.hpp"
#include "api/http/problem.hpp"
#include "api/http/query.hpp"
#include "service/async/run_blocking.hpp"
#include "service/codec/base64.hpp"
#include "service/controller/job_queue.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/scope_exit.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

constexpr std::size_t kMaxIdempotencyKey = 255;

Error invalid(std::string message) {
    return make_error(ErrorCode::invalid_request, std::move(message));
}

// "ex01, ex02" and repeated parts alike: each name once, in order.
void add_names(std::vector<std::string>& out, std::string_view text) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto comma = text.find(',', pos);
        auto item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() &&
               (item.back() == ' ' || item.back() == '\t' || item.back() == '\r' || item.back() == '\n')) {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
}

// RFC 3629: well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

Result<bool> parse_bool(std::string_view text, const char* name) {
    if (text == "true" || text == "false") {
        return text == "true";
    }
    return invalid(std::string("\"") + name + "\" must be true or false");
}

Result<void> check_choice(const controller::ServerChoice& choice) {
    if (choice.hasSelector && !choice.names.empty()) {
        return invalid("give \"servers\" or \"selector\", not both");
    }
    if (!choice.hasSelector && choice.names.empty()) {
        return invalid(
            "\"servers\" is required: server names, or \"*\" for every registered server "
            "(or a \"selector\" of labels)");
    }
    if (choice.hasSelector && choice.selector.empty()) {
        return invalid("\"selector\" must name at least one label");
    }
    const bool star = std::find(choice.names.begin(), choice.names.end(), "*") != choice.names.end();
    if (star && choice.names.size() > 1) {
        return invalid("\"*\" (every server) cannot be combined with server names");
    }
    return {};
}

// {"servers": [...] | "*" | "a,b", "selector": {...}} of a JSON body; `checked` false leaves check_choice to
// the caller (an import's dry run may name no server).
Result<controller::ServerChoice> choice_from_json(const json& body, bool checked = true) {
    controller::ServerChoice choice;
    if (body.contains("servers") && !body["servers"].is_null()) {
        const auto& servers = body["servers"];
        if (servers.is_string()) {
            add_names(choice.names, servers.get_ref<const std::string&>());
        } else if (servers.is_array() &&
                   std::all_of(servers.begin(), servers.end(), [](const json& v) { return v.is_string(); })) {
            for (const auto& name : servers) {
                add_names(choice.names, name.get_ref<const std::string&>());
            }
        } else {
            return invalid("\"servers\" must be an array of server names");
        }
    }
    if (body.contains("selector") && !body["selector"].is_null()) {
        const auto& selector = body["selector"];
        if (!selector.is_object()) {
            return invalid("\"selector\" must be an object of label names to values");
        }
        for (const auto& [key, value] : selector.items()) {
            if (!value.is_string()) {
                return invalid("\"selector\" values must be strings");
            }
            choice.selector[key] = value.get<std::string>();
        }
        choice.hasSelector = true;
    }
    if (checked) {
        if (auto valid = check_choice(choice); !valid) {
            return valid.error();
        }
    }
    return choice;
}

Result<void> only_fields(const json& body, std::initializer_list<const char*> allowed) {
    for (const auto& [key, value] : body.items()) {
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) {
            std::string list;
            for (const char* name : allowed) {
                list += (list.empty() ? "" : ", ") + std::string(name);
            }
            return invalid("unknown field \"" + key + "\": expected " + list);
        }
    }
    return {};
}

struct ImportInput {
    controller::ImportRequest request;
    // Further "file" parts: CA answers imported together without naming servers (each finds its own).
    std::vector<std::string> moreFiles;
    bool dryRun = false;
};

Result<ImportInput> import_from_form(std::string_view body, const std::string& boundary) {
    auto parts = parse_form(body, boundary);
    if (!parts) {
        return parts.error();
    }
    ImportInput in;
    auto& request = in.request;
    bool have_file = false;
    for (const auto& part : *parts) {
        if (part.name != "file" && part.name != "password" && !valid_utf8(part.body)) {
            return invalid("the part \"" + part.name + "\" is not UTF-8 text");
        }
        if (part.name == "file") {
            if (have_file) {
                in.moreFiles.emplace_back(part.body);
            } else {
                request.upload.file.assign(part.body);
                have_file = true;
            }
        } else if (part.name == "password") {
            request.upload.password.emplace(part.body);
        } else if (part.name == "servers") {
            add_names(request.servers.names, part.body);
        } else if (part.name == "selector") {
            // -F selector=role=mailbox, repeated for several labels.
            auto eq = part.body.find('=');
            if (eq == std::string_view::npos || eq == 0) {
                return invalid("a \"selector\" part is LABEL=VALUE, e.g. role=mailbox");
            }
            request.servers.selector[std::string(part.body.substr(0, eq))] = std::string(part.body.substr(eq + 1));
            request.servers.hasSelector = true;
        } else if (part.name == "privateKeyExportable" || part.name == "dryRun") {
            auto value = parse_bool(part.body, part.name.c_str());
            if (!value) {
                return value.error();
            }
            (part.name == "dryRun" ? in.dryRun : request.privateKeyExportable) = *value;
        } else if (part.name == "friendlyName") {
            request.friendlyName.assign(part.body);
        } else if (part.name == "services") {
            add_names(request.services, part.body);
        } else {
            return invalid("unknown part \"" + part.name +
                           "\": expected file, password, servers, selector, privateKeyExportable, friendlyName, "
                           "services, dryRun");
        }
    }
    if (!have_file) {
        return invalid("the \"file\" part is required: curl -F file=@certificate.pfx");
    }
    return in;
}

Result<ImportInput> import_from_json(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    if (auto known = only_fields(*body, {"fileData", "password", "servers", "selector", "privateKeyExportable",
                                         "friendlyName", "services", "dryRun"});
        !known) {
        return known.error();
    }
    // fileData may be a PEM with its private key: wiped on every way out.
    ScopeExit wipe_file_data([&body] {
        if (auto it = body->find("fileData"); it != body->end() && it->is_string()) {
            wipe(it->get_ref<std::string&>());
        }
    });
    auto file_data = string_field(*body, "fileData");
    auto password = secret_field(*body, "password");
    auto exportable = bool_field(*body, "privateKeyExportable");
    auto friendly_name = string_field(*body, "friendlyName");
    auto services = string_list_field(*body, "services");
    auto dry_run = bool_field(*body, "dryRun");
    ScopeExit wipe_copy([&file_data] {
        if (file_data && *file_data) {
            wipe(**file_data);
        }
    });
    if (!file_data || !password || !exportable || !friendly_name || !services || !dry_run) {
        return !file_data       ? file_data.error()
               : !password      ? password.error()
               : !exportable    ? exportable.error()
               : !friendly_name ? friendly_name.error()
               : !services      ? services.error()
                                : dry_run.error();
    }
    if (!*file_data) {
        return invalid("\"fileData\" (the certificate file, base64) is required");
    }
    auto bytes = codec::base64_decode(**file_data);
    wipe(**file_data);
    wipe(body->at("fileData").get_ref<std::string&>());
    if (!bytes) {
        return invalid("\"fileData\" is not base64");
    }
    auto choice = choice_from_json(*body, false);
    if (!choice) {
        wipe(*bytes);
        return choice.error();
    }
    ImportInput in;
    in.request.upload.file = std::move(*bytes);
    in.request.upload.password = std::move(*password);
    in.request.servers = std::move(*choice);
    in.request.privateKeyExportable = exportable->value_or(false);
    in.request.friendlyName = friendly_name->value_or("");
    in.request.services = services->value_or(std::vector<std::string>{});
    in.dryRun = dry_run->value_or(false);
    return in;
}

Result<ImportInput> import_input(Request& req) {
    const auto content_type = req.message[http::field::content_type];
    Result<ImportInput> in = make_error(ErrorCode::internal, "");
    if (auto boundary = form_boundary(content_type); !boundary.empty()) {
        in = import_from_form(req.message.body(), boundary);
    } else if (beast::iequals(content_type.substr(0, content_type.find(';')), "application/json")) {
        in = import_from_json(req);
    } else {
        in = make_error(ErrorCode::unsupported_media_type,
                        "send the certificate as multipart/form-data (curl -F file=@cert.pfx) or application/json "
                        "with fileData in base64");
    }
    wipe(req.message.body());  // it held the file and the password
    if (!in) {
        return in;
    }
    auto dry_run = bool_param(req, "dryRun");
    if (!dry_run) {
        return dry_run.error();
    }
    in->dryRun = in->dryRun || dry_run->value_or(false);
    // Naming no server: a dry run checks the file alone (the console's wizard shows the certificate before any
    // server is chosen); an import sends each CA answer to the servers whose pending request it completes.
    const auto& choice = in->request.servers;
    const bool named = !choice.names.empty() || choice.hasSelector;
    if (!in->moreFiles.empty() && (named || in->dryRun)) {
        for (auto& file : in->moreFiles) {
            wipe(file);
        }
        return invalid(in->dryRun ? "a dry run reads one \"file\""
                                  : "give one \"file\" with \"servers\": several files are CA answers, and each "
                                    "finds its servers by the request it completes");
    }
    if (named) {
        if (auto checked = check_choice(choice); !checked) {
            return checked.error();
        }
    }
    return in;
}

Result<std::string> idempotency_key(const Request& req) {
    std::string key(req.message["Idempotency-Key"]);
    if (key.size() > kMaxIdempotencyKey) {
        return invalid("Idempotency-Key must be at most 255 characters");
    }
    return key;
}

// 202 Accepted with the job, for a job made or replayed (JobService has handed it to the dispatcher).
Response accepted(const Request& req, const controller::Submitted& submitted, http::status status) {
    auto res = json_reply(req, status, job_json(submitted.job));
    res.set(http::field::location, "/v1/jobs/" + submitted.job.job.id);
    if (!submitted.created) {
        res.set("Idempotent-Replayed", "true");
    }
    return res;
}

Result<controller::FleetRequest> fleet_request(Request& req, controller::JobKind kind) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    const bool enable = kind == controller::JobKind::enable;
    auto known =
        enable ? only_fields(*body, {"servers", "selector", "services"}) : only_fields(*body, {"servers", "selector"});
    if (!known) {
        return known.error();
    }
    auto choice = choice_from_json(*body);
    if (!choice) {
        return choice.error();
    }
    controller::FleetRequest request{kind, req.params.at("thumbprint"), std::move(*choice), {}};
    if (enable) {
        auto services = string_list_field(*body, "services");
        if (!services) {
            return services.error();
        }
        if (!*services || (*services)->empty()) {
            return invalid("\"services\" must name at least one service");
        }
        request.services = std::move(**services);
    }
    return request;
}

// POST /v1/requests: the request's fields, the servers, friendlyName and privateKeyExportable.
Result<controller::CertificateRequestJob> certificate_request(Request& req) {
    auto body = json_object_body(req);
    if (!body) {
        return body.error();
    }
    if (auto known = only_fields(*body, {"subject", "domains", "keyAlgorithm", "keySize", "friendlyName",
                                         "privateKeyExportable", "servers", "selector"});
        !known) {
        return known.error();
    }
    auto fields = request_fields(*body);
    if (!fields) {
        return fields.error();
    }
    auto friendly_name = string_field(*body, "friendlyName");
    if (!friendly_name) {
        return friendly_name.error();
    }
    auto exportable = bool_field(*body, "privateKeyExportable");
    if (!exportable) {
        return exportable.error();
    }
    auto choice = choice_from_json(*body);
    if (!choice) {
        return choice.error();
    }
    auto spec = pki::check_request(*fields);
    if (!spec) {
        return spec.error();
    }
    controller::CertificateRequestJob out;
    out.spec = std::move(*spec);
    out.servers = std::move(*choice);
    out.friendlyName = friendly_name->value_or("");
    out.privateKeyExportable = exportable->value_or(false);
    return out;
}

// Follows a job's persisted events: those after `after`, then new ones as they are written, until the job
// is final and every event is sent, the client goes away, or the server shuts down.
asio::awaitable<void> follow_events(controller::JobService& jobs, asio::thread_pool& pool, std::string id,
                                    std::int64_t after, BodyWriter& out) {
    using namespace std::chrono_literals;
    // Woken as soon as an event of this job is written, here or on another controller of the database.
    auto waiter = jobs.bell().listen(id, co_await asio::this_coro::executor);
    ScopeExit forget([&jobs, &id, &waiter] { jobs.bell().forget(id, waiter); });
    std::string retry = "retry: 2000\n\n";  // (not a temporary inside co_await: GCC 12)
    if (!co_await out.write(std::move(retry))) {
        co_return;
    }
    auto quiet_since = std::chrono::steady_clock::now();
    bool was_final = false;
    for (;;) {
        auto events = co_await run_blocking(pool, [&] { return jobs.events_after(id, after, 500); });
        if (!events) {
            co_return;
        }
        for (const auto& event : *events) {
            if (!co_await out.write(sse_event(event))) {
                co_return;
            }
            after = event.seq;
        }
        if (!events->empty()) {
            quiet_since = std::chrono::steady_clock::now();
            if (events->size() < 500 && events->back().type == store::EventRow::Type::done) {
                co_return;  // the job is final and everything was said
            }
            continue;
        }
        // Nothing new. A job already final before this read has said everything (its `done` may have gone
        // out before a reconnect); one found final only now gets one more read, for the events its last
        // transition wrote together with it.
        if (was_final || out.closing()) {
            co_return;
        }
        auto finished = co_await run_blocking(pool, [&] { return jobs.finished(id); });
        if (!finished) {
            co_return;
        }
        if (*finished) {
            was_final = true;
            continue;
        }
        if (std::chrono::steady_clock::now() - quiet_since > 15s) {
            std::string comment = ": keep-alive\n\n";  // proxies and clients see a live stream
            if (!co_await out.write(std::move(comment))) {
                co_return;
            }
            quiet_since = std::chrono::steady_clock::now();
        }
        if (!waiter->rung.exchange(false)) {
            // The persisted log is the truth: read it again in a second even if no ring comes.
            waiter->timer.expires_after(1s);
            co_await waiter->timer.async_wait(use_nothrow);
            waiter->rung = false;
        }
    }
}

// Whether `caller` reaches every server of job `id`: out-of-scope, naming those it does not, otherwise.
asio::awaitable<Result<void>> check_reach(controller::JobService& jobs, controller::ServerRegistry& servers,
                                          asio::thread_pool& pool, std::string id, const controller::Caller& caller) {
    if (!caller.scoped) {
        co_return Result<void>();
    }
    auto outside = co_await run_blocking(pool, [&]() -> Result<std::vector<std::string>> {
        auto job = jobs.get(id);
        if (!job) {
            return job.error();
        }
        auto reach = servers.reach(caller);
        if (!reach) {
            return reach.error();
        }
        std::vector<std::string> names;
        for (const auto& target : job->targets) {
            if ((*reach)->count(target.server) == 0) {
                names.push_back(target.server);
            }
        }
        return names;
    });
    if (!outside) {
        co_return outside.error();
    }
    if (!outside->empty()) {
        co_return controller::out_of_scope(caller, *outside);
    }
    co_return Result<void>();
}

}  // namespace

void add_job_routes(Router& router, Access& access, controller::JobService& jobs, controller::ServerRegistry& servers,
                    asio::thread_pool& pool) {
    // Import-ExchangeCertificate, on many servers at once.
    add_v1(router, access, http::verb::post, "/v1/imports", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               auto in = import_input(req);
               if (!in) {
                   co_return in.error();
               }
               if (caller.scoped) {
                   in->request.servers.within = caller;
               }
               if (in->dryRun) {
                   auto plan = co_await run_blocking(pool, [&] { return jobs.plan_import(in->request); });
                   if (!plan) {
                       co_return plan.error();
                   }
                   co_return json_reply(req, http::status::ok, import_plan_json(*plan));
               }
               // Without the agents' TLS material nothing could run a job: refused before anything is read.
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }

               const auto& choice = in->request.servers;
               if (choice.names.empty() && !choice.hasSelector) {
                   // CA answers: routed to the servers whose pending requests they complete.
                   std::vector<controller::ImportRequest> answers;
                   answers.push_back(std::move(in->request));
                   for (auto& file : in->moreFiles) {
                       controller::ImportRequest answer;
                       answer.upload.file = std::move(file);
                       answer.servers.within = answers.front().servers.within;
                       answer.privateKeyExportable = answers.front().privateKeyExportable;
                       answer.friendlyName = answers.front().friendlyName;
                       answer.services = answers.front().services;
                       answers.push_back(std::move(answer));
                   }
                   auto routed =
                       co_await run_blocking(pool, [&] { return jobs.submit_answers(std::move(answers), *key); });
                   if (!routed) {
                       co_return routed.error();
                   }
                   if (routed->size() == 1) {
                       co_return accepted(req, routed->front(), http::status::accepted);
                   }
                   json list = json::array();
                   bool replayed = true;
                   for (const auto& submitted : *routed) {
                       list.push_back(job_json(submitted.job));
                       replayed = replayed && !submitted.created;
                   }
                   auto res = json_reply(req, http::status::accepted, {{"jobs", std::move(list)}});
                   if (replayed) {
                       res.set("Idempotent-Replayed", "true");
                   }
                   co_return res;
               }
               auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_import(in->request, *key); });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    // New-ExchangeCertificate -GenerateRequest on many servers: each makes its key pair and request.
    add_v1(router, access, http::verb::post, "/v1/requests", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               auto request = certificate_request(req);
               if (!request) {
                   co_return request.error();
               }
               if (caller.scoped) {
                   request->servers.within = caller;
               }
               auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_request(*request, *key); });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    // Exchange's Renew: a request like the certificate on every server that holds it.
    add_v1(router, access, http::verb::post, "/v1/certificates/{thumbprint}/renew", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               if (!req.message.body().empty()) {
                   auto body = json_object_body(req);
                   if (!body) {
                       co_return body.error();
                   }
                   if (auto known = only_fields(*body, std::initializer_list<const char*>{}); !known) {
                       co_return known.error();
                   }
               }
               std::optional<controller::Caller> within;
               if (caller.scoped) {
                   within = caller;
               }
               const std::string thumbprint = req.params.at("thumbprint");
               auto submitted = co_await run_blocking(pool, [&]() -> Result<controller::Submitted> {
                   auto renewal = jobs.renewal(thumbprint, within);
                   if (!renewal) {
                       return renewal.error();
                   }
                   return jobs.submit_request(*renewal, *key);
               });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    for (const auto kind : {controller::JobKind::enable, controller::JobKind::remove}) {
        add_v1(router, access, http::verb::post, "/v1/certificates/{thumbprint}/" + std::string(controller::name(kind)),
               controller::Role::operator_, [&, kind](Request& req, const controller::Caller& caller) -> Awaitable {
                   if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                       co_return dispatching.error();
                   }
                   auto key = idempotency_key(req);
                   if (!key) {
                       co_return key.error();
                   }
                   auto request = fleet_request(req, kind);
                   if (!request) {
                       co_return request.error();
                   }
                   if (caller.scoped) {
                       request->servers.within = caller;
                   }
                   auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_fleet(*request, *key); });
                   if (!submitted) {
                       co_return submitted.error();
                   }
                   co_return accepted(req, *submitted, http::status::accepted);
               });
    }

    add_v1(router, access, http::verb::get, "/v1/jobs", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto paging = page(req, controller::JobService::kDefaultPageSize, controller::JobService::kMaxPageSize);
               if (!paging) {
                   co_return paging.error();
               }
               store::JobFilter filter;
               filter.limit = paging->first;
               if (!paging->second.empty()) {
                   const auto& after = paging->second;
                   auto [ptr, ec] = std::from_chars(after.data(), after.data() + after.size(), filter.beforeSeq);
                   if (ec != std::errc() || ptr != after.data() + after.size() || filter.beforeSeq <= 0) {
                       co_return invalid("after must be a previous page's \"next\"");
                   }
               }
               filter.state = query_param(req, "state");
               if (filter.state && !controller::parse_job_state(*filter.state)) {
                   std::string names;
                   for (const auto state : controller::kJobStates) {
                       names += (names.empty() ? "" : ", ") + std::string(controller::name(state));
                   }
                   co_return invalid("state must be one of " + names);
               }
               filter.server = query_param(req, "server");
               if (auto thumbprint = query_param(req, "thumbprint")) {
                   filter.thumbprint = pki::normalize_thumbprint(*thumbprint);
                   if (!filter.thumbprint) {
                       co_return make_error(ErrorCode::invalid_thumbprint,
                                            "a thumbprint is 40 hexadecimal digits (SHA-1)");
                   }
               }
               auto list = co_await run_blocking(pool, [&] { return jobs.list(filter); });
               if (!list) {
                   co_return list.error();
               }
               if (caller.scoped) {  // only jobs all of whose servers the token reaches
                   std::vector<store::JobRow> kept;
                   for (auto& job : list->jobs) {
                       auto reached = co_await check_reach(jobs, servers, pool, job.id, caller);
                       if (reached) {
                           kept.push_back(std::move(job));
                       } else if (reached.error().code != ErrorCode::out_of_scope) {
                           co_return reached.error();
                       }
                   }
                   list->jobs = std::move(kept);
               }
               co_return json_reply(req, http::status::ok, job_page_json(*list));
           });

    add_v1(router, access, http::verb::get, "/v1/jobs/{id}", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto job = co_await run_blocking(pool, [&] { return jobs.get(id); });
               if (!job) {
                   co_return job.error();
               }
               co_return json_reply(req, http::status::ok, job_json(*job));
           });

    add_v1(router, access, http::verb::get, "/v1/jobs/{id}/events", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto job = co_await run_blocking(pool, [&] { return jobs.get(id); });
               if (!job) {
                   co_return job.error();
               }
               // A reconnecting EventSource sends Last-Event-ID; curl may say ?after=N.
               std::string last(req.message["Last-Event-ID"]);
               if (last.empty()) {
                   last = query_param(req, "after").value_or("0");
               }
               std::int64_t after = 0;
               auto [ptr, ec] = std::from_chars(last.data(), last.data() + last.size(), after);
               if (ec != std::errc() || ptr != last.data() + last.size() || after < 0) {
                   co_return invalid("Last-Event-ID (or after) must be an event id");
               }
               // A final job with nothing after `after`: 204, which also tells an EventSource not to reconnect.
               auto rest = co_await run_blocking(pool, [&] { return jobs.events_after(id, after, 1); });
               if (!rest) {
                   co_return rest.error();
               }
               if (rest->empty() && controller::is_final_state(job->job.state)) {
                   co_return Response{http::status::no_content, req.message.version()};
               }
               req.stream = [&jobs, &pool, id, after](BodyWriter& out) {
                   return follow_events(jobs, pool, id, after, out);
               };
               Response res{http::status::ok, req.message.version()};
               res.set(http::field::content_type, "text/event-stream");
               res.set(http::field::cache_control, "no-store");
               res.set("X-Accel-Buffering", "no");
               co_return res;
           });

    add_v1(router, access, http::verb::post, "/v1/jobs/{id}/retry", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               // Without the agents' TLS material nothing could run a job: refused before anything is read.
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto retried = co_await run_blocking(pool, [&] { return jobs.retry(id, *key); });
               if (!retried) {
                   co_return retried.error();
               }
               co_return accepted(req, *retried, http::status::accepted);
           });

    add_v1(router, access, http::verb::post, "/v1/jobs/{id}/cancel", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto cancelled = co_await run_blocking(pool, [&] { return jobs.cancel(id, *key); });
               if (!cancelled) {
                   co_return cancelled.error();
               }
               co_return accepted(req, *cancelled, http::status::ok);
           });
}

}  // namespace certdeploy::api
