// The HTTP processes' I/O threads: one io_context per thread, connections given out in turn, every context
// run by a thread of its own until stop().

#include "api/http/io_contexts.hpp"

#include <doctest/doctest.h>

#include <boost/asio/post.hpp>
#include <mutex>
#include <set>
#include <thread>

using certdeploy::api::IoContexts;

TEST_CASE("I/O contexts: handed out in turn, each run by a thread of its own, all ended by stop()") {
    IoContexts contexts(3);
    REQUIRE(contexts.size() == 3);
    // In turn: three calls give three different contexts, the fourth the first again.
    auto* first = &contexts.next();
    auto* second = &contexts.next();
    auto* third = &contexts.next();
    CHECK(first != second);
    CHECK(second != third);
    CHECK(first != third);
    CHECK(&contexts.next() == first);

    std::mutex mutex;
    std::set<std::thread::id> threads;
    int ran = 0;
    for (auto* context : {first, second, third}) {
        boost::asio::post(*context, [&] {
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
            // The last of the three stops them all: run() returns only once every thread has ended.
            if (++ran == 3) {
                contexts.stop();
            }
        });
    }
    // Contexts with nothing to do keep running (a context between connections must not end its thread).
    contexts.run([](boost::asio::io_context& context) { context.run(); });
    CHECK(ran == 3);
    CHECK(threads.size() == 3);
    CHECK(threads.count(std::this_thread::get_id()) == 1);  // main() runs on the caller's thread
}

TEST_CASE("I/O contexts: zero threads asked means one") {
    IoContexts contexts(0);
    CHECK(contexts.size() == 1);
    CHECK(&contexts.next() == &contexts.main());
}
