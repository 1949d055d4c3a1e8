#pragma once
// Counters, gauges and histograms with labels, and their Prometheus text exposition (format 0.0.4). A
// process has one Registry (process_registry()); instrumented code asks it for a family once and keeps the
// reference. Updating a value is lock-free; finding a labelled child takes the family's mutex, so hot paths
// keep the child (`with(...)`) when its labels are fixed. Labels must be bounded: route templates, kinds,
// states, error codes, server names — never a raw path, an id or a secret.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certdeploy::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes the text format: a family's # HELP and # TYPE once, then its samples.
class Exposition {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    const std::string& text() const { return text_; }

  private:
    std::string text_;
};

class Counter {
  public:
    void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0};
};

class Gauge {
  public:
    void set(double to) { value_.store(to, std::memory_order_relaxed); }
    void add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0};
};

class Histogram {
  public:
    explicit Histogram(const std::vector<double>& bounds);
    void observe(double value);
    // Cumulative counts per bound (the last is +Inf), the sum and the count, read together.
    void read(std::vector<std::uint64_t>& cumulative, double& sum, std::uint64_t& count) const;

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
    std::atomic<std::uint64_t> count_{0};
};

// Seconds: from 1 ms to 1 min, for requests, attempts and transactions.
const std::vector<double>& latency_buckets();

// A metric and its labelled children.
template <class Metric>
class Family {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          bounds_(std::move(bounds)) {}

    // The child for these label values (as many as the family's label names), made on first use; the
    // reference stays valid for the registry's life.
    Metric& with(const std::vector<std::string>& values) {
        std::lock_guard lock(mutex_);
        auto it = children_.find(values);
        if (it == children_.end()) {
            it = children_.emplace(values, make()).first;
        }
        return *it->second;
    }

    void render(Exposition& out) const;

  private:
    std::unique_ptr<Metric> make() const {
        if constexpr (std::is_same_v<Metric, Histogram>) {
            return std::make_unique<Histogram>(bounds_);
        } else {
            return std::make_unique<Metric>();
        }
    }
    Labels labels(const std::vector<std::string>& values) const;

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

class Registry {
  public:
    // The same name answers the same family (the help and labels of the first call stand).
    Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
    Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
    Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                 std::vector<double> bounds = latency_buckets());

    // Families computed at each scrape (process figures, what the store says of the fleet).
    void add_collector(std::function<void(Exposition&)> collector);

    // Every family, then every collector's.
    void render(Exposition& out) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Family<Counter>>> counters_;
    std::map<std::string, std::unique_ptr<Family<Gauge>>> gauges_;
    std::map<std::string, std::unique_ptr<Family<Histogram>>> histograms_;
    std::vector<std::function<void(Exposition&)>> collectors_;
};

Registry& process_registry();

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds and process_start_time_seconds, from /proc/self, as Prometheus's client libraries name them.
void render_process_metrics(Exposition& out);

}  // namespace certdeploy::metrics
