#include "api/http/io_contexts.hpp"

#include <algorithm>
#include <thread>

namespace certdeploy::api {

IoContexts::IoContexts(unsigned threads) {
    const unsigned count = std::max(1U, threads);
    contexts_.reserve(count);
    guards_.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        // Hint 1: each context is run by one thread (others only post into it).
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

boost::asio::io_context& IoContexts::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoContexts::run(const std::function<void(boost::asio::io_context&)>& run_one) {
    std::vector<std::thread> threads;
    threads.reserve(contexts_.size() - 1);
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        threads.emplace_back([&run_one, context = contexts_[i].get()] { run_one(*context); });
    }
    run_one(main());
    for (auto& thread : threads) {
        thread.join();
    }
}

void IoContexts::stop() {
    for (auto& context : contexts_) {
        context->stop();
    }
}

}  // namespace certdeploy::api
