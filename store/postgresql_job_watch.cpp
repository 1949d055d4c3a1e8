#include "store/postgresql_job_watch.hpp"

#include <poll.h>

#include <chrono>

#include "store/libpq.hpp"
#include "store/postgresql_connection.hpp"

namespace certdeploy::store {

PostgresqlJobWatch::PostgresqlJobWatch(ConnectionPool::Open open, std::function<void(const std::string&)> ready,
                                       std::function<void(const std::string&)> events)
    : open_(std::move(open)), ready_(std::move(ready)), events_(std::move(events)), thread_([this] { run(); }) {}

PostgresqlJobWatch::~PostgresqlJobWatch() {
    stop_ = true;
    thread_.join();
}

void PostgresqlJobWatch::run() {
    constexpr int kPollMs = 200;  // how soon a stop is noticed
    while (!stop_) {
        auto opened = open_();
        auto* connection = opened ? dynamic_cast<PostgresqlConnection*>(opened->get()) : nullptr;
        if (connection == nullptr || !connection->exec("LISTEN certdeploy_jobs; LISTEN certdeploy_events")) {
            for (int i = 0; i < 5 && !stop_; ++i) {  // a second between attempts while the database is away
                std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
            }
            continue;
        }
        PGconn* conn = connection->handle();
        while (!stop_ && connection->usable()) {
            pollfd watched{libpq().socket(conn), POLLIN, 0};
            if (::poll(&watched, 1, kPollMs) < 0 || libpq().consume_input(conn) == 0) {
                break;
            }
            while (PGnotify* note = libpq().notifies(conn)) {
                const std::string job_id = note->extra != nullptr ? note->extra : "";
                const bool events = note->relname != nullptr && std::string_view(note->relname) == "certdeploy_events";
                libpq().freemem(note);
                if (job_id.empty()) {
                    continue;
                }
                if (events) {
                    events_(job_id);
                } else {
                    ready_(job_id);
                }
            }
        }
    }
}

}  // namespace certdeploy::store
