#include "service/memory/heap_trimmer.hpp"

#include <malloc.h>

namespace certdeploy::memory {

bool TrimPolicy::sample(std::size_t free_bytes) {
    const bool still = previous_ == free_bytes;
    previous_ = free_bytes;
    if (!still) {
        return false;  // work in progress: its freed memory is about to be used again
    }
    const std::size_t change = free_bytes > at_last_trim_ ? free_bytes - at_last_trim_ : at_last_trim_ - free_bytes;
    return change >= threshold_;
}

void TrimPolicy::trimmed(std::size_t free_bytes) {
    previous_ = free_bytes;
    at_last_trim_ = free_bytes;
}

void map_large_blocks_apart() {
    constexpr int kLargeBlock = 128 * 1024;  // glibc's own starting threshold
    ::mallopt(M_MMAP_THRESHOLD, kLargeBlock);
}

Heap process_heap() {
    return Heap{[] { return static_cast<std::size_t>(::mallinfo2().fordblks); }, [] { ::malloc_trim(0); }};
}

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds interval, Heap heap, std::size_t threshold)
    : interval_(interval), heap_(std::move(heap)), policy_(threshold), thread_([this] { run(); }) {}

HeapTrimmer::~HeapTrimmer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void HeapTrimmer::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
        if (policy_.sample(heap_.free_bytes())) {
            heap_.trim();
            policy_.trimmed(heap_.free_bytes());
        }
    }
}

}  // namespace certdeploy::memory
