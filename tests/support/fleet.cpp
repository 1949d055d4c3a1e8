#include "tests/support/fleet.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <csignal>
#include <regex>
#include <thread>

namespace certdeploy::test {

using nlohmann::json;
using namespace std::chrono_literals;

std::pair<std::string, std::string> form_body(const std::vector<FormField>& fields) {
    const std::string boundary = "------------------------certdeploytest7MA4YWxk";
    std::string body;
    for (const auto& field : fields) {
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field.name + "\"";
        if (!field.filename.empty()) {
            body += "; filename=\"" + field.filename + "\"\r\nContent-Type: application/octet-stream";
        }
        body += "\r\n\r\n" + field.value + "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    return {body, boundary};
}

Fleet::Fleet(Options options, FleetNetwork network)
    : options_(std::move(options)), pki_(dir_ / "pki", options_.agents) {
    if (network.namespaces) {
        network_ = std::make_unique<HostNetwork>();
    }
    for (const auto& name : options_.agents) {
        auto services = options_.services.dump();
        for (auto pos = services.find("%SERVER%"); pos != std::string::npos; pos = services.find("%SERVER%")) {
            services.replace(pos, 8, name);
        }
        json config{
            {"name", name}, {"store", (dir_ / ("store-" + name)).string()}, {"services", json::parse(services)}};
        if (!options_.caFile.empty()) {
            config["caFile"] = options_.caFile;
        }
        write_file(dir_ / (name + ".json"), config.dump(2));
        agent_addresses_[name] = "127.0.0.1:0";
        if (network_) {
            // The controller checks that the agent's certificate names the host in its URL: here, an address.
            const auto address = network_->add_host(name);
            const auto agents = pki_.dir / "agents";
            issue_with_openssl(pki_.dir / "ca.pem", pki_.dir / "ca.key", name, "serverAuth",
                               "DNS:" + name + ",DNS:localhost,IP:127.0.0.1,IP:" + address, agents);
            ::chmod((agents / (name + ".key")).c_str(), 0600);
            agent_addresses_[name] = address + ":0";
        }
        start_agent(name);
    }
    for (const auto& name : network.proxied) {
        proxies_[name] = std::make_unique<TcpProxy>(agent_addresses_.at(name));
    }
    start_controller();
}

Fleet::~Fleet() {
    controllers_.clear();  // the current one gets SIGTERM and a wait
    for (auto& [name, runs] : agents_) {
        runs.back()->signal(SIGTERM);
    }
    for (auto& [name, runs] : agents_) {
        runs.back()->wait_for_exit(10s);
    }
}

void Fleet::start_agent(const std::string& name) {
    const auto ready = dir_ / (name + ".addr");
    std::filesystem::remove(ready);
    std::vector<std::string> args{
        "agent",        "--config",    (dir_ / (name + ".json")).string(), "--listen", agent_addresses_.at(name),
        "--ready-file", ready.string()};
    const auto flags = pki_.agent_flags(name);
    args.insert(args.end(), flags.begin(), flags.end());
    auto& runs = agents_[name];  // each run's log is kept, so that installs() counts across restarts
    if (network_) {
        auto on_host = network_->exec_prefix(name);
        on_host.push_back(certdeploy_binary().string());
        args.insert(args.begin(), on_host.begin() + 1, on_host.end());
        runs.push_back(std::make_unique<ChildProcess>(on_host.front(), args, dir_.path()));
    } else {
        runs.push_back(std::make_unique<ChildProcess>(certdeploy_binary(), args, dir_.path()));
    }
    const auto address = wait_for_ready_file(ready, 20s);
    INFO(runs.back()->stderr_text());
    REQUIRE_FALSE(address.empty());
    agent_addresses_[name] = address;
}

void Fleet::start_agent_elsewhere(const std::string& name) {
    agent_addresses_[name] = (network_ ? network_->address(name) : std::string("127.0.0.1")) + ":0";
    start_agent(name);
}

void Fleet::stop_agent(const std::string& name) {
    auto& agent = agents_.at(name).back();
    agent->signal(SIGTERM);
    REQUIRE(agent->wait_for_exit(10s).has_value());
}

void Fleet::kill_agent(const std::string& name) {
    auto& agent = agents_.at(name).back();
    agent->signal(SIGKILL);
    REQUIRE(agent->wait_for_exit(10s).has_value());
}

std::string Fleet::agent_log(const std::string& name) const {
    std::string text;
    for (const auto& run : agents_.at(name)) {
        text += run->stderr_text();
    }
    return text;
}

int Fleet::installs(const std::string& name) const {
    const auto log = agent_log(name);
    int count = 0;
    for (std::size_t pos = log.find("\"certificate installed\""); pos != std::string::npos;
         pos = log.find("\"certificate installed\"", pos + 1)) {
        ++count;
    }
    return count;
}

void Fleet::start_controller() {
    controllers_.push_back(std::make_unique<ControllerProcess>(dir_.path(), controller_args(), controller_env_));
    address_ = controllers_.back()->address();
}

std::vector<std::string> Fleet::controller_args() const {
    json servers = json::object();
    for (const auto& name : options_.agents) {
        const auto proxy = proxies_.find(name);
        servers[name] = {{"agentUrl", "https://" + (proxy != proxies_.end() ? proxy->second->address()
                                                                            : agent_addresses_.at(name))}};
        if (options_.labels.count(name) != 0) {
            servers[name]["labels"] = options_.labels.at(name);
        }
    }
    const auto tls = pki_.controller();
    std::vector<std::string> args{"--servers",
                                  servers.dump(),
                                  "--agent-ca",
                                  tls.ca,
                                  "--agent-client-cert",
                                  tls.cert,
                                  "--agent-client-key",
                                  tls.key,
                                  "--probe-interval-seconds",
                                  "1"};
    args.insert(args.end(), options_.controllerFlags.begin(), options_.controllerFlags.end());
    return args;
}

void Fleet::kill_controller() {
    controllers_.back()->process().signal(SIGKILL);
    REQUIRE(controllers_.back()->process().wait_for_exit(10s).has_value());
}

void Fleet::pause_controller(bool paused) {
    controllers_.back()->process().signal(paused ? SIGSTOP : SIGCONT);
}

void Fleet::stop_controller() {
    controllers_.back()->process().signal(SIGTERM);
    auto status = controllers_.back()->process().wait_for_exit(20s);
    REQUIRE(status.has_value());
    const auto log = controllers_.back()->process().stderr_text();
    INFO("the controller's last log lines: " << log.substr(log.size() > 8000 ? log.size() - 8000 : 0));
    CHECK(status->code == 0);
}

std::string Fleet::controller_log() const {
    std::string text;
    for (const auto& run : controllers_) {
        text += run->process().stderr_text();
    }
    return text;
}

Response Fleet::call(http::verb method, const std::string& target, const json& body,
                     const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::authorization, bearer());
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    if (!body.is_null()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body.dump();
    }
    HttpClient client(address_);
    return client.send(std::move(req), 30s);
}

Response Fleet::post_form(const std::string& target, const std::vector<FormField>& fields,
                          const std::map<std::string, std::string>& headers) {
    auto [body, boundary] = form_body(fields);
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::authorization, bearer());
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    req.set(http::field::content_type, "multipart/form-data; boundary=" + boundary);
    req.body() = std::move(body);
    HttpClient client(address_);
    return client.send(std::move(req), 30s);
}

json Fleet::wait_for_job(const std::string& id, const std::function<bool(const json&)>& done,
                         std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json job;
    while (std::chrono::steady_clock::now() < deadline) {
        auto res = call(http::verb::get, "/v1/jobs/" + id);
        REQUIRE(res.result() == http::status::ok);
        job = json::parse(res.body());
        if (done(job)) {
            return job;
        }
        std::this_thread::sleep_for(50ms);
    }
    INFO(job.dump(2));
    INFO(controller_log());
    FAIL("the job did not reach the expected state in time");
    return job;
}

json Fleet::wait_until_final(const std::string& id, std::chrono::milliseconds timeout) {
    return wait_for_job(
        id,
        [](const json& job) {
            const auto state = job["state"].get<std::string>();
            return state != "queued" && state != "running";
        },
        timeout);
}

std::vector<std::string> server_names(int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) {
        out.push_back((i < 10 ? "ex0" : "ex") + std::to_string(i));
    }
    return out;
}

}  // namespace certdeploy::test
