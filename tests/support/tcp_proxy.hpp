#pragma once
// A TCP proxy of the tests' own, between a client (the controller) and a server (an agent): it forwards
// bytes both ways, each chunk held back by a fixed delay (a slow link: this kernel has no netem), and it
// can lose one answer (a link that fails after the request arrived: the server acted, the client never
// hears of it). Blocking sockets and threads: it serves a handful of connections, not a benchmark.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace certdeploy::test {

class TcpProxy {
  public:
    // Listens on 127.0.0.1 (a free port) and forwards each connection to `upstream` (IPv4:PORT).
    explicit TcpProxy(std::string upstream);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    std::string address() const;  // 127.0.0.1:PORT
    // Each chunk, either way, is delivered `delay` after it was read.
    void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
    // The next time a client sends more than `request_bytes` without the server speaking in between (a
    // request that large: connections are reused, so their totals say nothing), nothing more of the
    // server's reaches that client (it is read and thrown away) until the connection closes. Once only.
    void lose_next_answer_to(std::size_t request_bytes);
    int answers_lost() const { return answers_lost_; }
    // Bytes read from clients so far, all connections together: a request on its way shows here.
    std::size_t client_bytes() const { return client_bytes_; }
    int connections() const { return connections_; }

  private:
    struct Connection;
    void accept_loop();
    bool connect_upstream(int fd);
    void pump(std::shared_ptr<Connection> connection, bool to_server);

    std::string upstream_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<long> delay_ms_{0};
    std::atomic<std::size_t> lose_after_{0};  // request size; 0: nothing to lose
    std::atomic<int> answers_lost_{0};
    std::atomic<std::size_t> client_bytes_{0};
    std::atomic<int> connections_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::vector<std::shared_ptr<Connection>> open_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

}  // namespace certdeploy::test
