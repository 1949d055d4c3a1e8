#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <stdexcept>

namespace certdeploy::test {

// One proxied connection: its two sockets, and per direction the chunks read but not yet delivered.
struct TcpProxy::Connection {
    int client = -1;
    int server = -1;
    std::atomic<std::size_t> client_run{0};  // bytes from the client since the server last sent any
    std::atomic<bool> answer_lost{false};

    struct Chunk {
        std::chrono::steady_clock::time_point due;
        std::string bytes;  // empty: end of stream
    };
    struct Direction {
        std::mutex mutex;
        std::condition_variable ready;
        std::deque<Chunk> chunks;
    };
    Direction to_server;
    Direction to_client;

    ~Connection() {
        ::close(client);
        ::close(server);
    }
};

namespace {

sockaddr_in ipv4(const std::string& address) {
    const auto colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    if (colon == std::string::npos || ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
        throw std::runtime_error("tcp proxy: not IPv4:PORT: " + address);
    }
    return sa;
}

bool write_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

TcpProxy::TcpProxy(std::string upstream) : upstream_(std::move(upstream)) {
    (void)ipv4(upstream_);  // refuse a bad address here, not in a thread
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto sa = ipv4("127.0.0.1:0");
    socklen_t length = sizeof sa;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &length) != 0) {
        ::close(listener_);
        throw std::runtime_error("tcp proxy: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
    stopping_ = true;
    acceptor_.join();
    ::close(listener_);
    {
        std::lock_guard lock(mutex_);
        for (auto& connection : open_) {
            ::shutdown(connection->client, SHUT_RDWR);  // wakes the readers
            ::shutdown(connection->server, SHUT_RDWR);
            connection->to_server.ready.notify_all();  // and the writers
            connection->to_client.ready.notify_all();
        }
    }
    for (auto& thread : threads_) {
        thread.join();
    }
}

std::string TcpProxy::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

void TcpProxy::lose_next_answer_to(std::size_t request_bytes) {
    lose_after_ = request_bytes;
}

void TcpProxy::accept_loop() {
    while (!stopping_) {
        pollfd pfd{listener_, POLLIN, 0};
        if (::poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            continue;
        }
        const int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto connection = std::make_shared<Connection>();
        connection->client = client;
        connection->server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ++connections_;
        std::lock_guard lock(mutex_);
        open_.push_back(connection);
        threads_.emplace_back([this, connection] {
            if (!connect_upstream(connection->server)) {
                ::shutdown(connection->client, SHUT_RDWR);  // as a dead link's proxy would
                return;
            }
            std::thread other([this, connection] { pump(connection, false); });
            pump(connection, true);
            other.join();
        });
    }
}

// Connects the (non-blocking) socket, waiting as long as the link takes (a cut one: until TCP gives up or the
// proxy stops); the socket is blocking afterwards.
bool TcpProxy::connect_upstream(int fd) {
    const auto sa = ipv4(upstream_);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        return false;
    }
    for (;;) {
        pollfd pfd{fd, POLLOUT, 0};
        const int ready = ::poll(&pfd, 1, 50);
        if (stopping_) {
            return false;
        }
        if (ready > 0) {
            break;
        }
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
        return false;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
}

// One direction: a reader here, and a writer thread that delivers each chunk when it is due.
void TcpProxy::pump(std::shared_ptr<Connection> connection, bool to_server) {
    auto& direction = to_server ? connection->to_server : connection->to_client;
    const int from = to_server ? connection->client : connection->server;
    const int to = to_server ? connection->server : connection->client;

    std::thread writer([&] {
        for (;;) {
            Connection::Chunk chunk;
            {
                std::unique_lock lock(direction.mutex);
                direction.ready.wait(lock, [&] { return stopping_ || !direction.chunks.empty(); });
                if (stopping_) {
                    return;
                }
                chunk = std::move(direction.chunks.front());
                direction.chunks.pop_front();
            }
            std::this_thread::sleep_until(chunk.due);
            if (chunk.bytes.empty()) {
                ::shutdown(to, SHUT_WR);  // the end of the stream, passed on
                return;
            }
            if (!to_server && connection->answer_lost) {
                continue;  // read, never delivered
            }
            if (!write_all(to, chunk.bytes)) {
                ::shutdown(from, SHUT_RD);
                return;
            }
        }
    });

    char buffer[16384];
    for (;;) {
        const auto n = ::recv(from, buffer, sizeof buffer, 0);
        Connection::Chunk chunk{std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms_.load()),
                                n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string()};
        if (!to_server && n > 0) {
            connection->client_run = 0;
        }
        if (to_server && n > 0) {
            client_bytes_ += static_cast<std::size_t>(n);
            const auto total = connection->client_run += static_cast<std::size_t>(n);
            std::size_t threshold = lose_after_.load();
            if (threshold != 0 && total > threshold && lose_after_.compare_exchange_strong(threshold, 0)) {
                connection->answer_lost = true;
                ++answers_lost_;
            }
        }
        {
            std::lock_guard lock(direction.mutex);
            direction.chunks.push_back(std::move(chunk));
        }
        direction.ready.notify_all();
        if (n <= 0) {
            break;
        }
    }
    writer.join();
}

}  // namespace certdeploy::test
