#pragma once
// A fleet of real hosts on one machine: each host a network namespace of its own, joined by a veth pair
// to a bridge that only this test made, with its own IPv4 address on a private /24. Processes started
// with exec_prefix() run "on" that host; the test's own process (and the controller it starts) reaches
// the hosts through the bridge. A host's link can be cut and healed, and made to lose packets (iptables'
// `statistic` match inside the namespace: this kernel has no netem), while traffic flows.
// Needs root (tests and CI run as root). Everything is removed by the destructor; what a crashed test
// process left behind is removed by the next HostNetwork made.

#include <map>
#include <string>
#include <vector>

namespace certdeploy::test {

class HostNetwork {
  public:
    HostNetwork();
    ~HostNetwork();
    HostNetwork(const HostNetwork&) = delete;
    HostNetwork& operator=(const HostNetwork&) = delete;

    // A new host named `name` (its namespace, its link, its address); returns the address.
    std::string add_host(const std::string& name);
    const std::string& address(const std::string& name) const { return hosts_.at(name).address; }
    // The command prefix that runs a program on the host: {"/usr/sbin/ip", "netns", "exec", NS}. `ip netns
    // exec` replaces itself with the program, so the child's pid is the program's.
    std::vector<std::string> exec_prefix(const std::string& name) const;

    // The host's link down (the other end sees nothing: no reset, no refusal) / up again.
    void cut(const std::string& name);
    void heal(const std::string& name);
    // Every packet into and out of the host dropped with `probability` (0 removes the rule).
    void lose(const std::string& name, double probability);
    // Packets dropped by lose()'s rules so far: proof that the loss was there.
    long dropped(const std::string& name) const;

  private:
    struct Host {
        std::string ns;
        std::string link;  // the bridge's end of the veth pair
        std::string address;
        bool lossy = false;
    };
    std::string bridge_;
    std::string prefix_;  // "10.A.B."
    std::string tag_;     // this process's part of every name
    std::map<std::string, Host> hosts_;
};

}  // namespace certdeploy::test
