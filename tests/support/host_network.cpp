#include "tests/support/host_network.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace certdeploy::test {
namespace {

void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        throw std::runtime_error("host network: `" + command + "` failed");
    }
}

std::string output_of(const std::string& command) {
    std::string text;
    FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
    if (pipe == nullptr) {
        return text;
    }
    std::array<char, 4096> buffer{};
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
        text.append(buffer.data(), n);
    }
    ::pclose(pipe);
    return text;
}

// Test processes running side by side change the machine's network one at a time: `ip netns add` races
// with itself on /run/netns, and choosing a free /24 is check-then-act.
class NetworkLock {
  public:
    NetworkLock() : fd_(::open("/run/lock/certdeploy-test-network.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
            throw std::runtime_error("host network: cannot lock /run/lock/certdeploy-test-network.lock");
        }
    }
    ~NetworkLock() { ::close(fd_); }
    NetworkLock(const NetworkLock&) = delete;
    NetworkLock& operator=(const NetworkLock&) = delete;

  private:
    int fd_;
};

bool process_alive(const std::string& pid) {
    return std::filesystem::exists("/proc/" + pid);
}

// Namespaces and bridges named after a test process that no longer runs: left by a crash or a kill.
void remove_leftovers() {
    const std::regex ns_name(R"(^(certdeploy-test-(\d+)-\d+))");
    std::istringstream namespaces(output_of("ip netns list"));
    for (std::string line; std::getline(namespaces, line);) {
        std::smatch m;
        if (std::regex_search(line, m, ns_name) && !process_alive(m[2].str())) {
            std::system(("ip netns delete " + m[1].str() + " >/dev/null 2>&1").c_str());
        }
    }
    const std::regex bridge_name(R"(: (cdb(\d+)):)");
    std::istringstream links(output_of("ip -o link show type bridge"));
    for (std::string line; std::getline(links, line);) {
        std::smatch m;
        if (std::regex_search(line, m, bridge_name) && !process_alive(m[2].str())) {
            std::system(("ip link delete " + m[1].str() + " >/dev/null 2>&1").c_str());
        }
    }
}

}  // namespace

HostNetwork::HostNetwork() : tag_(std::to_string(::getpid())) {
    NetworkLock lock;
    remove_leftovers();
    bridge_ = "cdb" + tag_;
    // A /24 of 10.0.0.0/8 derived from the pid (tests run side by side), skipping one already routed here.
    const int pid = ::getpid();
    for (int i = 0; i < 256 && prefix_.empty(); ++i) {
        const int a = 100 + (pid / 256 + i) % 150;
        const int b = pid % 256;
        const std::string candidate = "10." + std::to_string(a) + "." + std::to_string(b) + ".";
        if (output_of("ip -4 route show " + candidate + "0/24").empty()) {
            prefix_ = candidate;
        }
    }
    if (prefix_.empty()) {
        throw std::runtime_error("host network: no free 10.x.y.0/24");
    }
    run("ip link add " + bridge_ + " type bridge");
    run("ip addr add " + prefix_ + "1/24 dev " + bridge_);
    run("ip link set " + bridge_ + " up");
}

HostNetwork::~HostNetwork() {
    for (const auto& [name, host] : hosts_) {
        // Deleting the namespace deletes its end of the veth pair, and with it the bridge's end.
        std::system(("ip netns delete " + host.ns + " >/dev/null 2>&1").c_str());
    }
    std::system(("ip link delete " + bridge_ + " >/dev/null 2>&1").c_str());
}

std::string HostNetwork::add_host(const std::string& name) {
    const int index = static_cast<int>(hosts_.size()) + 1;
    if (index > 200) {
        throw std::runtime_error("host network: at most 200 hosts");
    }
    NetworkLock lock;
    Host host;
    host.ns = "certdeploy-test-" + tag_ + "-" + std::to_string(index);
    host.link = "cdv" + tag_ + "-" + std::to_string(index);
    host.address = prefix_ + std::to_string(10 + index);
    const std::string peer = "cdp" + tag_ + "-" + std::to_string(index);
    run("ip netns add " + host.ns);
    hosts_[name] = host;  // from here on, the destructor removes it
    run("ip link add " + host.link + " type veth peer name " + peer);
    run("ip link set " + peer + " netns " + host.ns);
    run("ip link set " + host.link + " master " + bridge_);
    run("ip link set " + host.link + " up");
    run("ip -n " + host.ns + " link set " + peer + " name eth0");
    run("ip -n " + host.ns + " addr add " + host.address + "/24 dev eth0");
    run("ip -n " + host.ns + " link set eth0 up");
    run("ip -n " + host.ns + " link set lo up");
    // No default route: a host reaches the bridge's /24 and nothing else, so its traffic stays in this test.
    return host.address;
}

std::vector<std::string> HostNetwork::exec_prefix(const std::string& name) const {
    return {"/usr/sbin/ip", "netns", "exec", hosts_.at(name).ns};
}

void HostNetwork::cut(const std::string& name) {
    run("ip link set " + hosts_.at(name).link + " down");
}

void HostNetwork::heal(const std::string& name) {
    run("ip link set " + hosts_.at(name).link + " up");
}

void HostNetwork::lose(const std::string& name, double probability) {
    auto& host = hosts_.at(name);
    const std::string iptables = "ip netns exec " + host.ns + " iptables -w";
    if (host.lossy) {
        run(iptables + " -F INPUT");
        run(iptables + " -F OUTPUT");
        host.lossy = false;
    }
    if (probability > 0) {
        char p[32];
        std::snprintf(p, sizeof p, "%.3f", probability);
        for (const char* chain : {"INPUT", "OUTPUT"}) {
            run(iptables + " -A " + chain + " -m statistic --mode random --probability " + p + " -j DROP");
        }
        host.lossy = true;
    }
}

}  // namespace certdeploy::test

namespace certdeploy::test {

long HostNetwork::dropped(const std::string& name) const {
    long total = 0;
    for (const char* chain : {"INPUT", "OUTPUT"}) {
        // -v -x: the exact packet count in the first column of each rule's line.
        std::istringstream lines(
            output_of("ip netns exec " + hosts_.at(name).ns + " iptables -w -L " + chain + " -v -x -n"));
        for (std::string line; std::getline(lines, line);) {
            if (line.find("DROP") != std::string::npos && line.find("statistic") != std::string::npos) {
                total += std::stol(line);
            }
        }
    }
    return total;
}

}  // namespace certdeploy::test
