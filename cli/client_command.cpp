// certdeploy import | jobs | servers | certificates | enable | remove | retry | cancel: the command-line
// client, for people and pipelines. It speaks only the controller's public HTTP API, so it works against
// any controller. Exit status: 0 done (with --wait: every target succeeded), 1 some target did not succeed,
// 2 bad usage or a refusal by the controller (4xx), 3 the controller could not be reached or failed (5xx).

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "api/clients/controller_client.hpp"
#include "cli/client_output.hpp"
#include "cli/commands.hpp"
#include "cli/password_input.hpp"
#include "service/codec/base64.hpp"
#include "service/codec/random_hex.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/pki/reader.hpp"

namespace certdeploy::cli {
namespace po = boost::program_options;
namespace {

using api::ControllerClient;
using nlohmann::json;

constexpr int kSucceeded = 0;
constexpr int kSomeFailed = 1;
constexpr int kRefused = 2;
constexpr int kUnavailable = 3;

constexpr const char* kDefaultController = "https://127.0.0.1:8080";

// What every client command shares: where the controller is, how to trust it, how to print.
struct Settings {
    std::string controller = kDefaultController;
    std::string cacert;
    std::string output = "table";
    std::string token_file;  // the API token is read from here, or from CERTDEPLOY_TOKEN
    double timeout_seconds = 30;
};

struct Usage {
    const char* brief;  // for certdeploy --help
    const char* synopsis;
    const char* summary;
};

const std::map<std::string, Usage>& usages() {
    static const std::map<std::string, Usage> table = {
        {"import",
         {"import a certificate file on many servers",
          "import FILE (--servers LIST | --selector KEY=VALUE...) [--password-file F | --password-stdin]\n"
          "       [--services LIST] [--exportable] [--friendly-name NAME] [--dry-run] [--wait]\n"
          "       import ANSWER... [--wait]",
          "Imports a certificate file (PKCS #12, X.509, PKCS #7) on many servers (Import-ExchangeCertificate).\n"
          "LIST is names separated by commas, or '*' for every registered server. With --wait, follows the job\n"
          "and exits 0 only when every server succeeded. Without --servers, each file is a CA's answer to a\n"
          "certificate request (see request): it goes to the server whose request has its key and completes it\n"
          "there; one that matches no request is refused, and then nothing is imported."}},
        {"request",
         {"make a certificate request on many servers",
          "request (--subject DN | --domains LIST) [--key-algorithm RSA|ECDSA] [--key-size BITS]\n"
          "       [--friendly-name NAME] [--exportable] (--servers LIST | --selector KEY=VALUE...) [--wait]",
          "Makes a key pair and a certificate request on each server (New-ExchangeCertificate\n"
          "-GenerateRequest); the key never leaves it. DN is like \"CN=mail.contoso.com, O=Contoso, C=US\";\n"
          "LIST of domains is DNS names separated by commas. Then: requests --save DIR, the CA, import."}},
        {"requests",
         {"the certificate requests waiting for a CA's answer", "requests [--server NAME] [--save DIR]",
          "Lists the pending certificate requests; --save writes each as DIR/SERVER-ID.csr for the CA."}},
        {"renew",
         {"renew a certificate where it is installed", "renew THUMBPRINT [--wait]",
          "Makes a request with the certificate's subject, domains and key on every server that holds it\n"
          "(Exchange's Renew). Import the CA's answers, then enable the new certificate for the services."}},
        {"jobs",
         {"list jobs, show one, follow one live",
          "jobs [ID] [--follow] [--state STATE] [--server NAME] [--thumbprint T] [--limit N] [--after CURSOR]",
          "Lists jobs, newest first; with ID shows one job and each server's outcome. --follow shows its\n"
          "progress live and exits as --wait does."}},
        {"servers", {"list the registered servers", "servers [NAME]", "Lists the registered servers, or shows one."}},
        {"certificates",
         {"the fleet's certificates and where they are",
          "certificates [--server NAME] [--expiring-within DAYS] [--domain HOST] [--status STATUS] [--live]",
          "The fleet's certificates, from what each agent last said (the inventory). With --server NAME\n"
          "--live, asks that server's agent now (Get-ExchangeCertificate -Server)."}},
        {"enable",
         {"enable a certificate for services on many servers",
          "enable THUMBPRINT --services LIST (--servers LIST | --selector KEY=VALUE...) [--wait]",
          "Enables an installed certificate for services on many servers (Enable-ExchangeCertificate)."}},
        {"remove",
         {"remove a certificate from many servers",
          "remove THUMBPRINT (--servers LIST | --selector KEY=VALUE...) [--wait]",
          "Removes a certificate from many servers (Remove-ExchangeCertificate)."}},
        {"retry",
         {"run a job's failed servers again", "retry ID [--wait]",
          "Runs a job's failed servers again, and nothing else."}},
        {"cancel",
         {"cancel a job's servers not yet started", "cancel ID [--wait]",
          "Cancels a job: servers not yet started are skipped."}},
    };
    return table;
}

constexpr const char* kCommonNote = R"(
Exit status: 0 done (with --wait or --follow: every server succeeded); 1 some server did not succeed;
2 bad usage or a refusal by the controller; 3 the controller could not be reached or failed.
--controller, --cacert, --token-file and --output also come from CERTDEPLOY_CONTROLLER, CERTDEPLOY_CACERT,
CERTDEPLOY_TOKEN_FILE and CERTDEPLOY_OUTPUT, or from a JSON file (--client-config, CERTDEPLOY_CLIENT_CONFIG,
or ~/.config/certdeploy/client.json) with the keys controller, cacert, tokenFile and output; a flag beats
the environment, which beats the file. The API token may also be the value of CERTDEPLOY_TOKEN. No option
takes a password or a token: it would land in shell history.
)";

class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Percent-encodes everything but RFC 3986's unreserved characters: safe in a path segment and a query.

std::string encode(std::string_view value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : value) {
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos) {
            out.push_back(item.substr(first, last - first + 1));
        }
    }
    return out;
}

class Command {
  public:
    Command(std::string name, const config::EnvLookup& env) : name_(std::move(name)), env_(env) {
        common_.add_options()("controller", po::value<std::string>()->value_name("URL"),
                              "the controller's URL (default https://127.0.0.1:8080)")(
            "cacert", po::value<std::string>()->value_name("PEM"), "trust this CA for an https:// controller")(
            "token-file", po::value<std::string>()->value_name("FILE"),
            "read the API token from this file (or set CERTDEPLOY_TOKEN)")(
            "output,o", po::value<std::string>()->value_name("FORMAT"), "table (default) or json")(
            "client-config", po::value<std::string>()->value_name("FILE"), "read settings from this JSON file")(
            "timeout-seconds", po::value<double>()->value_name("S"), "limit on each connect, write and read (30)")(
            "help,h", "show this help");
    }

    po::options_description& options() { return options_; }
    po::positional_options_description& positional() { return positional_; }

    // Parses the arguments; false when --help was answered.
    bool parse(const std::vector<std::string>& args) {
        po::options_description all;
        all.add(options_).add(common_).add(hidden_);
        try {
            const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
            po::store(po::command_line_parser(args).options(all).positional(positional_).style(style).run(), vm_);
        } catch (const po::error& e) {
            throw UsageError(e.what());
        }
        if (has("help")) {
            const auto& usage = usages().at(name_);
            po::options_description shown;
            shown.add(options_).add(common_);
            std::cout << "Usage: certdeploy " << usage.synopsis << "\n\n"
                      << usage.summary << "\n\n"
                      << shown << kCommonNote;
            return false;
        }
        load_settings();
        return true;
    }

    po::options_description& hidden() { return hidden_; }
    bool has(const char* key) const { return vm_.count(key) != 0; }
    template <class T>
    T get(const char* key) const {
        return vm_[key].as<T>();
    }
    std::string text(const char* key) const { return has(key) ? get<std::string>(key) : std::string(); }
    bool json_output() const { return settings_.output == "json"; }
    const std::string& name() const { return name_; }

    // The API token: the --token-file (or CERTDEPLOY_TOKEN_FILE, or tokenFile) first line, else
    // CERTDEPLOY_TOKEN; none when neither is set (the controller then answers 401).
    Secret api_token() const {
        if (!settings_.token_file.empty()) {
            auto text = fs::read_file(settings_.token_file, 4096);
            if (!text) {
                throw UsageError("--token-file " + settings_.token_file + ": " + text.error().message);
            }
            const auto end = text->find_first_of("\r\n");
            Secret token(std::string_view(*text).substr(0, end));
            wipe(*text);
            return token;
        }
        if (auto value = env("CERTDEPLOY_TOKEN")) {
            Secret token(*value);
            wipe(*value);
            return token;
        }
        return Secret();
    }

    ControllerClient& client() {
        if (!client_) {
            ControllerClient::Options options;
            options.url = settings_.controller;
            options.ca_file = settings_.cacert;
            options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(settings_.timeout_seconds * 1000));
            options.token = std::string(api_token().reveal());
            auto created = ControllerClient::create(options);
            wipe(options.token);
            if (!created) {
                throw UsageError(created.error().message);
            }
            client_ = std::move(*created);
        }
        return *client_;
    }

    // Sends a request; an answer that is not 2xx is reported and its exit status thrown as CommandExit.
    json call(std::string_view method, const std::string& target, std::string body = {},
              const ControllerClient::Headers& headers = {}, std::string content_type = {}) {
        if (content_type.empty() && !body.empty()) {
            content_type = "application/json";
        }
        auto reply = client().request(method, target, std::move(body), content_type, headers);
        if (!reply) {
            unavailable(reply.error().message);
        }
        if (reply->status >= 300) {
            refused(*reply);
        }
        auto parsed = json::parse(reply->body, nullptr, false);
        if (parsed.is_discarded()) {
            unavailable("the controller's answer was not JSON (HTTP " + std::to_string(reply->status) + ")");
        }
        return parsed;
    }

    [[noreturn]] void unavailable(const std::string& message) const {
        std::cerr << "certdeploy " << name_ << ": " << message << '\n';
        throw CommandExit{kUnavailable};
    }

    // A problem+json answer: its code and detail on stderr (and the problem on stdout for --output json).
    [[noreturn]] void refused(const ControllerClient::Reply& reply) const {
        auto problem = json::parse(reply.body, nullptr, false);
        std::string what = "HTTP " + std::to_string(reply.status);
        if (problem.is_object()) {
            what += " " + problem.value("code", std::string("?")) + ": " +
                    problem.value("detail", problem.value("title", std::string()));
            if (json_output()) {
                std::cout << problem.dump(2) << '\n';
            }
        }
        std::cerr << "certdeploy " << name_ << ": " << what << '\n';
        throw CommandExit{reply.status >= 500 ? kUnavailable : kRefused};
    }

    struct CommandExit {
        int status;
    };

  private:
    std::optional<std::string> env(const char* name) const { return env_ ? env_(name) : std::nullopt; }

    // flag > environment > client config file > default.
    void load_settings() {
        std::string file = text("client-config");
        bool explicit_file = !file.empty();
        if (file.empty()) {
            if (auto from_env = env("CERTDEPLOY_CLIENT_CONFIG")) {
                file = *from_env;
                explicit_file = true;
            } else if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
                file = *xdg + "/certdeploy/client.json";
            } else if (auto home = env("HOME"); home && !home->empty()) {
                file = *home + "/.config/certdeploy/client.json";
            }
        }
        if (!file.empty() && (explicit_file || std::filesystem::exists(file))) {
            read_settings_file(file);
        }
        const auto take = [&](const char* flag, const char* variable, std::string& into) {
            if (has(flag)) {
                into = get<std::string>(flag);
            } else if (auto value = env(variable)) {
                into = *value;
            }
        };
        take("controller", "CERTDEPLOY_CONTROLLER", settings_.controller);
        take("cacert", "CERTDEPLOY_CACERT", settings_.cacert);
        take("output", "CERTDEPLOY_OUTPUT", settings_.output);
        take("token-file", "CERTDEPLOY_TOKEN_FILE", settings_.token_file);
        if (has("timeout-seconds")) {
            settings_.timeout_seconds = get<double>("timeout-seconds");
            if (!(settings_.timeout_seconds > 0 && settings_.timeout_seconds <= 86400)) {
                throw UsageError("--timeout-seconds: expected a number of seconds above 0");
            }
        }
        if (settings_.output != "table" && settings_.output != "json") {
            throw UsageError("--output: expected table or json, not '" + settings_.output + "'");
        }
    }

    void read_settings_file(const std::string& file) {
        auto text = fs::read_file(file, 64 * 1024);
        if (!text) {
            throw UsageError("client config " + file + ": " + text.error().message);
        }
        auto parsed = json::parse(*text, nullptr, false, true);
        if (!parsed.is_object()) {
            throw UsageError("client config " + file + ": expected a JSON object");
        }
        for (const auto& [key, value] : parsed.items()) {
            std::string* into = key == "controller"  ? &settings_.controller
                                : key == "cacert"    ? &settings_.cacert
                                : key == "output"    ? &settings_.output
                                : key == "tokenFile" ? &settings_.token_file
                                                     : nullptr;
            if (into == nullptr) {
                throw UsageError("client config " + file + ": unknown key \"" + key +
                                 "\" (expected controller, cacert, output, tokenFile)");
            }
            if (!value.is_string()) {
                throw UsageError("client config " + file + ": \"" + key + "\" must be a string");
            }
            *into = value.get<std::string>();
        }
    }

    std::string name_;
    const config::EnvLookup& env_;
    po::options_description options_{"Options"};
    po::options_description common_{"Controller"};
    po::options_description hidden_;
    po::positional_options_description positional_;
    po::variables_map vm_;
    Settings settings_;
    std::unique_ptr<ControllerClient> client_;
};

// "ex01,ex02" or "*" (and --selector KEY=VALUE) into the body's servers and selector.
void add_choice(Command& cmd, json& body) {
    if (cmd.has("servers") == cmd.has("selector")) {
        throw UsageError("give --servers (names, or '*' for all) or --selector KEY=VALUE, one of them");
    }
    if (cmd.has("servers")) {
        auto names = split_list(cmd.get<std::string>("servers"));
        if (names.empty()) {
            throw UsageError("--servers: expected names separated by commas, or '*'");
        }
        body["servers"] = names;
        return;
    }
    json selector = json::object();
    for (const auto& pair : cmd.get<std::vector<std::string>>("selector")) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw UsageError("--selector: expected KEY=VALUE, not '" + pair + "'");
        }
        selector[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    body["selector"] = selector;
}

void add_choice_options(Command& cmd) {
    cmd.options().add_options()("servers", po::value<std::string>()->value_name("LIST"),
                                "server names separated by commas, or '*' for all")(
        "selector", po::value<std::vector<std::string>>()->value_name("KEY=VALUE"),
        "choose servers by label instead (repeatable: all must match)");
}

void add_wait_option(Command& cmd, const char* flag = "wait") {
    cmd.options().add_options()(flag, "follow the job until every server has answered; exit 1 if any failed");
}

ControllerClient::Headers idempotency(const Command& cmd) {
    if (!cmd.has("idempotency-key")) {
        return {};
    }
    return {{"Idempotency-Key", cmd.get<std::string>("idempotency-key")}};
}

int exit_for(const json& job) {
    return job.value("state", std::string()) == "succeeded" ? kSucceeded : kSomeFailed;
}

void print_job_result(Command& cmd, const json& job) {
    if (cmd.json_output()) {
        std::cout << job.dump(2) << '\n';
    } else {
        print_job(std::cout, job);
    }
}

bool is_final(const json& job) {
    const auto state = job.value("state", std::string());
    return state == "succeeded" || state == "failed" || state == "partiallySucceeded" || state == "cancelled";
}

// The id of a final job's last event: its stream sends everything and ends.
std::string last_event_id(Command& cmd, const std::string& id) {
    std::string last;
    auto reply = cmd.client().follow("/v1/jobs/" + encode(id) + "/events", last,
                                     [](const ControllerClient::Event&) { return true; });
    if (!reply) {
        cmd.unavailable(reply.error().message);
    }
    if (reply->status != 200 && reply->status != 204) {
        cmd.refused(*reply);
    }
    return last;
}

// Follows a job's events from `after` until `done`, showing progress on stderr, then prints the job and
// returns the exit status its outcome gives. A dropped stream is resumed where it stopped (Last-Event-ID).
// A `done` is checked against the job: after a retry, the log also holds the `done` of the earlier run.
int follow_job(Command& cmd, const std::string& id, std::string after = {}) {
    ProgressView progress(std::cerr, isatty(STDERR_FILENO) == 1);
    std::string last_event_id = std::move(after);
    std::optional<json> final_job;
    int failures = 0;
    bool saw_done = false;
    const auto on_event = [&](const ControllerClient::Event& event) {
        auto data = json::parse(event.data, nullptr, false);
        if (data.is_discarded()) {
            return true;
        }
        if (event.type == "target") {
            progress.on_target(data);
        } else if (event.type == "job") {
            progress.on_job(data);
        } else if (event.type == "done") {
            progress.on_job(data);
            saw_done = true;
            return false;
        }
        return true;
    };
    const std::string events = "/v1/jobs/" + encode(id) + "/events";
    while (!final_job) {
        saw_done = false;
        auto reply = cmd.client().follow(events, last_event_id, on_event);
        if (reply && reply->status != 200 && reply->status != 204) {
            progress.finish();
            cmd.refused(*reply);
        }
        std::string trouble;
        if (reply) {
            // The stream ended: at a `done`, with nothing more to say (204), or cut short. Ask the job.
            auto answer = cmd.client().request("GET", "/v1/jobs/" + encode(id));
            if (answer && answer->status == 200) {
                failures = 0;
                auto job = json::parse(answer->body, nullptr, false);
                if (is_final(job) && (saw_done || reply->status == 204)) {
                    final_job = std::move(job);
                }
                continue;
            }
            if (answer && answer->status < 500) {
                progress.finish();
                cmd.refused(*answer);
            }
            trouble = answer ? "HTTP " + std::to_string(answer->status) : answer.error().message;
        } else {
            trouble = reply.error().message;
        }
        // The controller went away (a restart): resume where the stream stopped, for a minute of failures.
        if (++failures > 30) {
            progress.finish();
            cmd.unavailable(trouble);
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    progress.finish();
    print_job_result(cmd, *final_job);
    return exit_for(*final_job);
}

// A job-making answer: print it, or follow it with --wait from `after` (the events before the call).
int job_started(Command& cmd, const json& job, const std::string& after = {}) {
    if (cmd.has("wait")) {
        if (!cmd.json_output()) {
            std::cerr << "job " << job.value("id", std::string()) << " (" << job.value("kind", std::string()) << ") on "
                      << job.value("targets", json::array()).size() << " server(s)\n";
        }
        return follow_job(cmd, job.value("id", std::string()), after);
    }
    print_job_result(cmd, job);
    return kSucceeded;
}

int import_answers(Command& cmd, const std::vector<std::string>& files);

int import_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.hidden().add_options()("file", po::value<std::vector<std::string>>());
    cmd.positional().add("file", -1);
    add_choice_options(cmd);
    cmd.options().add_options()("password-file", po::value<std::string>()->value_name("F"),
                                "read the file's password from the first line of F")(
        "password-stdin", "read the file's password from the first line of standard input")(
        "services", po::value<std::string>()->value_name("LIST"), "also enable it for these services once installed")(
        "exportable", "mark the private key exportable on the servers")(
        "friendly-name", po::value<std::string>()->value_name("NAME"), "the friendly name on the servers")(
        "dry-run", "show what would happen, change nothing (-WhatIf)")(
        "idempotency-key", po::value<std::string>()->value_name("KEY"), "a repeated import returns the same job");
    add_wait_option(cmd);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (!cmd.has("file")) {
        throw UsageError("no FILE given");
    }
    if (cmd.has("password-file") && cmd.has("password-stdin")) {
        throw UsageError("give --password-file or --password-stdin, not both");
    }
    const auto files = cmd.get<std::vector<std::string>>("file");
    if (!cmd.has("servers") && !cmd.has("selector")) {
        if (cmd.has("password-file") || cmd.has("password-stdin")) {
            throw UsageError("a CA's answer has no password: name the servers (--servers) for a file that has one");
        }
        return import_answers(cmd, files);
    }
    if (files.size() > 1) {
        throw UsageError("one FILE with --servers or --selector (several files are CA answers, which name none)");
    }
    json body = json::object();
    add_choice(cmd, body);
    auto bytes = fs::read_file(files.front(), pki::kMaxFileBytes);
    if (!bytes) {
        throw UsageError(files.front() + ": " + bytes.error().message);
    }
    body["fileData"] = codec::base64_encode(*bytes);
    wipe(*bytes);
    if (cmd.has("services")) {
        body["services"] = split_list(cmd.get<std::string>("services"));
    }
    if (cmd.has("exportable")) {
        body["privateKeyExportable"] = true;
    }
    if (cmd.has("friendly-name")) {
        body["friendlyName"] = cmd.get<std::string>("friendly-name");
    }
    std::optional<Secret> password;
    if (cmd.has("password-file")) {
        auto read = password_from_file(cmd.get<std::string>("password-file"));
        if (!read) {
            throw UsageError("--password-file: " + read.error().message);
        }
        password = std::move(*read);
    } else if (cmd.has("password-stdin")) {
        password = password_from_stdin();
    }
    if (password) {
        body["password"] = std::string(password->reveal());
    }
    std::string text = body.dump();
    // The JSON value's copies of the file and the password are wiped before the request goes out.
    wipe(body["fileData"].get_ref<std::string&>());
    if (password) {
        wipe(body["password"].get_ref<std::string&>());
    }
    const bool dry_run = cmd.has("dry-run");
    auto answer =
        cmd.call("POST", dry_run ? "/v1/imports?dryRun=true" : "/v1/imports", std::move(text), idempotency(cmd));
    if (dry_run) {
        if (cmd.json_output()) {
            std::cout << answer.dump(2) << '\n';
        } else {
            print_import_plan(std::cout, answer);
        }
        return kSucceeded;
    }
    return job_started(cmd, answer);
}

// The multipart body curl -F would send: each (name, bytes, filename) a part, files with a filename.
std::pair<std::string, std::string> form_body(
    const std::vector<std::tuple<std::string, std::string, std::string>>& parts) {
    const std::string boundary = "certdeploy-" + codec::random_hex(12);  // no file can be expected to hold it
    std::string body;
    for (const auto& [name, bytes, filename] : parts) {
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
        if (!filename.empty()) {
            body += "; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream";
        }
        body += "\r\n\r\n" + bytes + "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    return {std::move(body), "multipart/form-data; boundary=" + boundary};
}

// Import ANSWER...: CA answers, naming no server, sent together so that one refused changes nothing.
int import_answers(Command& cmd, const std::vector<std::string>& files) {
    std::vector<std::tuple<std::string, std::string, std::string>> parts;
    for (const auto& file : files) {
        auto bytes = fs::read_file(file, pki::kMaxFileBytes);
        if (!bytes) {
            throw UsageError(file + ": " + bytes.error().message);
        }
        parts.emplace_back("file", std::move(*bytes), std::filesystem::path(file).filename().string());
    }
    if (cmd.has("exportable")) {
        parts.emplace_back("privateKeyExportable", "true", "");
    }
    if (cmd.has("friendly-name")) {
        parts.emplace_back("friendlyName", cmd.get<std::string>("friendly-name"), "");
    }
    if (cmd.has("services")) {
        parts.emplace_back("services", cmd.get<std::string>("services"), "");
    }
    const bool dry_run = cmd.has("dry-run");
    if (dry_run && files.size() > 1) {
        throw UsageError("--dry-run reads one file");
    }
    auto [body, content_type] = form_body(parts);
    auto answer = cmd.call("POST", dry_run ? "/v1/imports?dryRun=true" : "/v1/imports", std::move(body),
                           idempotency(cmd), content_type);
    if (dry_run) {
        if (cmd.json_output()) {
            std::cout << answer.dump(2) << '\n';
        } else {
            print_import_plan(std::cout, answer);
        }
        return kSucceeded;
    }
    if (!answer.contains("jobs")) {
        return job_started(cmd, answer);
    }
    int status = kSucceeded;
    for (const auto& job : answer["jobs"]) {
        status = std::max(status, job_started(cmd, job));
    }
    return status;
}

int request_command(Command& cmd, const std::vector<std::string>& args) {
    add_choice_options(cmd);
    cmd.options().add_options()("subject", po::value<std::string>()->value_name("DN"),
                                "the subject, e.g. \"CN=mail.contoso.com, O=Contoso, C=US\"")(
        "domains", po::value<std::string>()->value_name("LIST"), "DNS names separated by commas")(
        "key-algorithm", po::value<std::string>()->value_name("RSA|ECDSA"), "RSA (default) or ECDSA")(
        "key-size", po::value<int>()->value_name("BITS"), "RSA: 2048 (default), 3072, 4096; ECDSA: 256, 384")(
        "friendly-name", po::value<std::string>()->value_name("NAME"), "the friendly name on the servers")(
        "exportable", "mark the private key exportable once the certificate is installed")(
        "idempotency-key", po::value<std::string>()->value_name("KEY"), "a repeated call returns the same job");
    add_wait_option(cmd);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (!cmd.has("subject") && !cmd.has("domains")) {
        throw UsageError("give --subject, --domains, or both");
    }
    json body = json::object();
    add_choice(cmd, body);
    if (cmd.has("subject")) {
        body["subject"] = cmd.get<std::string>("subject");
    }
    if (cmd.has("domains")) {
        body["domains"] = split_list(cmd.get<std::string>("domains"));
    }
    if (cmd.has("key-algorithm")) {
        body["keyAlgorithm"] = cmd.get<std::string>("key-algorithm");
    }
    if (cmd.has("key-size")) {
        body["keySize"] = cmd.get<int>("key-size");
    }
    if (cmd.has("friendly-name")) {
        body["friendlyName"] = cmd.get<std::string>("friendly-name");
    }
    if (cmd.has("exportable")) {
        body["privateKeyExportable"] = true;
    }
    return job_started(cmd, cmd.call("POST", "/v1/requests", body.dump(), idempotency(cmd)));
}

int requests_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.options().add_options()("server", po::value<std::string>()->value_name("NAME"), "only this server's")(
        "save", po::value<std::string>()->value_name("DIR"), "write each request to DIR/SERVER-ID.csr");
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    std::vector<json> requests;
    std::string after;
    do {
        std::string target = "/v1/requests?limit=1000";
        if (cmd.has("server")) {
            target += "&server=" + encode(cmd.get<std::string>("server"));
        }
        if (!after.empty()) {
            target += "&after=" + encode(after);
        }
        auto page = cmd.call("GET", target);
        for (auto& request : page["requests"]) {
            requests.push_back(std::move(request));
        }
        after = page["next"].is_string() ? page["next"].get<std::string>() : std::string();
    } while (!after.empty());
    if (cmd.has("save")) {
        const std::filesystem::path dir = cmd.get<std::string>("save");
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        for (const auto& request : requests) {
            const auto path =
                dir / (request.value("server", std::string()) + "-" + request.value("id", std::string()) + ".csr");
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out << request.value("certificateRequest", std::string());
            if (!out.flush()) {
                throw UsageError("--save: cannot write " + path.string());
            }
            if (!cmd.json_output()) {
                std::cout << path.string() << '\n';
            }
        }
    }
    if (cmd.json_output()) {
        std::cout << json{{"requests", requests}}.dump(2) << '\n';
    } else if (!cmd.has("save")) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : requests) {
            rows.push_back({r.value("server", std::string()), r.value("id", std::string()),
                            r.value("subject", std::string()),
                            r.value("keyAlgorithm", std::string()) + " " + std::to_string(r.value("publicKeySize", 0)),
                            r.value("requestedAt", std::string())});
        }
        std::cout << format_table({"SERVER", "ID", "SUBJECT", "KEY", "REQUESTED"}, rows);
    }
    return kSucceeded;
}

int renew_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.hidden().add_options()("thumbprint", po::value<std::string>());
    cmd.positional().add("thumbprint", 1);
    cmd.options().add_options()("idempotency-key", po::value<std::string>()->value_name("KEY"),
                                "a repeated call returns the same job");
    add_wait_option(cmd);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (!cmd.has("thumbprint")) {
        throw UsageError("no THUMBPRINT given");
    }
    return job_started(
        cmd, cmd.call("POST", "/v1/certificates/" + encode(cmd.get<std::string>("thumbprint")) + "/renew", "{}",
                      idempotency(cmd)));
}

int fleet_job_command(Command& cmd, const std::vector<std::string>& args, bool enable) {
    cmd.hidden().add_options()("thumbprint", po::value<std::string>());
    cmd.positional().add("thumbprint", 1);
    add_choice_options(cmd);
    if (enable) {
        cmd.options().add_options()("services", po::value<std::string>()->value_name("LIST"),
                                    "the services to enable it for, separated by commas");
    }
    cmd.options().add_options()("idempotency-key", po::value<std::string>()->value_name("KEY"),
                                "a repeated call returns the same job");
    add_wait_option(cmd);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (!cmd.has("thumbprint")) {
        throw UsageError("no THUMBPRINT given");
    }
    json body = json::object();
    add_choice(cmd, body);
    if (enable) {
        const auto services =
            cmd.has("services") ? split_list(cmd.get<std::string>("services")) : std::vector<std::string>();
        if (services.empty()) {
            throw UsageError("--services: name at least one service");
        }
        body["services"] = services;
    }
    const std::string target =
        "/v1/certificates/" + encode(cmd.get<std::string>("thumbprint")) + (enable ? "/enable" : "/remove");
    return job_started(cmd, cmd.call("POST", target, body.dump(), idempotency(cmd)));
}

int job_action_command(Command& cmd, const std::vector<std::string>& args, const char* action) {
    cmd.hidden().add_options()("id", po::value<std::string>());
    cmd.positional().add("id", 1);
    add_wait_option(cmd);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (!cmd.has("id")) {
        throw UsageError("no job ID given");
    }
    const auto id = cmd.get<std::string>("id");
    // With --wait, only what happens from now on: a final job's earlier events are skipped.
    std::string after;
    if (cmd.has("wait") && is_final(cmd.call("GET", "/v1/jobs/" + encode(id)))) {
        after = last_event_id(cmd, id);
    }
    return job_started(cmd, cmd.call("POST", "/v1/jobs/" + encode(id) + "/" + action), after);
}

int jobs_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.hidden().add_options()("id", po::value<std::string>());
    cmd.positional().add("id", 1);
    cmd.options().add_options()("follow,f", "show the job's progress live until every server has answered")(
        "state", po::value<std::string>()->value_name("STATE"), "only jobs in this state")(
        "server", po::value<std::string>()->value_name("NAME"), "only jobs that target this server")(
        "thumbprint", po::value<std::string>()->value_name("T"), "only jobs for this certificate")(
        "limit", po::value<std::string>()->value_name("N"), "at most N jobs (default 50)")(
        "after", po::value<std::string>()->value_name("CURSOR"), "the page after this one");
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (cmd.has("id")) {
        const auto id = cmd.get<std::string>("id");
        if (cmd.has("follow")) {
            return follow_job(cmd, id);
        }
        print_job_result(cmd, cmd.call("GET", "/v1/jobs/" + encode(id)));
        return kSucceeded;
    }
    if (cmd.has("follow")) {
        throw UsageError("--follow needs a job ID");
    }
    std::string query;
    for (const char* key : {"state", "server", "thumbprint", "limit", "after"}) {
        if (cmd.has(key)) {
            query += (query.empty() ? "?" : "&") + std::string(key) + "=" + encode(cmd.get<std::string>(key));
        }
    }
    const auto page = cmd.call("GET", "/v1/jobs" + query);
    if (cmd.json_output()) {
        std::cout << page.dump(2) << '\n';
    } else {
        print_jobs(std::cout, page);
    }
    return kSucceeded;
}

int servers_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.hidden().add_options()("name", po::value<std::string>());
    cmd.positional().add("name", 1);
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    json servers = json::array();
    json answer;
    if (cmd.has("name")) {
        answer = cmd.call("GET", "/v1/servers/" + encode(cmd.get<std::string>("name")));
        servers.push_back(answer);
    } else {
        // Every page: a fleet listing is short enough to print whole.
        std::string after;
        for (;;) {
            auto page = cmd.call("GET", "/v1/servers?limit=500" + (after.empty() ? "" : "&after=" + encode(after)));
            for (auto& server : page.value("servers", json::array())) {
                servers.push_back(std::move(server));
            }
            if (!page.value("next", json()).is_string()) {
                break;
            }
            after = page.at("next").get<std::string>();
        }
        answer = json{{"servers", servers}, {"next", nullptr}};
    }
    if (cmd.json_output()) {
        std::cout << answer.dump(2) << '\n';
    } else {
        print_servers(std::cout, servers);
    }
    return kSucceeded;
}

int certificates_command(Command& cmd, const std::vector<std::string>& args) {
    cmd.options().add_options()("server", po::value<std::string>()->value_name("NAME"), "only on this server")(
        "expiring-within", po::value<std::string>()->value_name("DAYS"), "only those that expire within DAYS days")(
        "domain", po::value<std::string>()->value_name("HOST"), "only those valid for this host name")(
        "status", po::value<std::string>()->value_name("STATUS"), "only Valid, Untrusted, DateInvalid or Invalid")(
        "live", "with --server: ask the server's agent now instead of the inventory")(
        "limit", po::value<std::string>()->value_name("N"), "at most N certificates (default 100)")(
        "after", po::value<std::string>()->value_name("CURSOR"), "the page after this one");
    if (!cmd.parse(args)) {
        return kSucceeded;
    }
    if (cmd.has("live")) {
        if (!cmd.has("server")) {
            throw UsageError("--live needs --server NAME");
        }
        if (cmd.has("expiring-within") || cmd.has("domain") || cmd.has("limit") || cmd.has("after")) {
            throw UsageError("--live takes --status only; the other filters read the inventory");
        }
        const auto answer =
            cmd.call("GET", "/v1/servers/" + encode(cmd.get<std::string>("server")) + "/certificates" +
                                (cmd.has("status") ? "?status=" + encode(cmd.get<std::string>("status")) : ""));
        if (cmd.json_output()) {
            std::cout << answer.dump(2) << '\n';
        } else {
            print_server_certificates(std::cout, answer);
        }
        return kSucceeded;
    }
    std::string query;
    const std::pair<const char*, const char*> filters[] = {
        {"server", "server"}, {"expiring-within", "expiringWithinDays"},
        {"domain", "domain"}, {"status", "status"},
        {"limit", "limit"},   {"after", "after"}};
    for (const auto& [flag, key] : filters) {
        if (cmd.has(flag)) {
            query += (query.empty() ? "?" : "&") + std::string(key) + "=" + encode(cmd.get<std::string>(flag));
        }
    }
    const auto page = cmd.call("GET", "/v1/certificates" + query);
    if (cmd.json_output()) {
        std::cout << page.dump(2) << '\n';
    } else {
        print_inventory(std::cout, page);
    }
    return kSucceeded;
}

}  // namespace

bool is_client_command(const std::string& command) {
    return usages().count(command) != 0;
}

std::string client_commands_help() {
    std::string out;
    for (const auto& [name, usage] : usages()) {
        out += "  " + name + std::string(14 - std::min<std::size_t>(name.size(), 13), ' ') + usage.brief + "\n";
    }
    return out;
}

int client_command(const std::string& command, const std::vector<std::string>& args, const config::EnvLookup& env) {
    Command cmd(command, env);
    try {
        if (command == "import") {
            return import_command(cmd, args);
        }
        if (command == "jobs") {
            return jobs_command(cmd, args);
        }
        if (command == "servers") {
            return servers_command(cmd, args);
        }
        if (command == "certificates") {
            return certificates_command(cmd, args);
        }
        if (command == "enable" || command == "remove") {
            return fleet_job_command(cmd, args, command == "enable");
        }
        if (command == "retry" || command == "cancel") {
            return job_action_command(cmd, args, command.c_str());
        }
        if (command == "request") {
            return request_command(cmd, args);
        }
        if (command == "requests") {
            return requests_command(cmd, args);
        }
        if (command == "renew") {
            return renew_command(cmd, args);
        }
    } catch (const UsageError& e) {
        std::cerr << "certdeploy " << command << ": " << e.what() << " (see certdeploy " << command << " --help)\n";
        return kRefused;
    } catch (const Command::CommandExit& exit) {
        return exit.status;
    }
    std::cerr << "certdeploy: unknown command '" << command << "'\n";
    return kRefused;
}

}  // namespace certdeploy::cli
