// A minimal ordered JSON object writer for summary.json (numbers round-trip
// exactly; NaN/Inf become null, which json.load reads as None).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace latentlab {

class JsonObject {
public:
    JsonObject& set(const std::string& key, double v);
    JsonObject& set(const std::string& key, long v);
    JsonObject& set(const std::string& key, int v) { return set(key, static_cast<long>(v)); }
    JsonObject& set(const std::string& key, std::size_t v) { return set(key, static_cast<long>(v)); }
    JsonObject& set(const std::string& key, bool v);
    JsonObject& set(const std::string& key, const std::string& v);
    JsonObject& set(const std::string& key, const char* v) { return set(key, std::string(v)); }
    JsonObject& set(const std::string& key, const std::vector<double>& v);
    JsonObject& set(const std::string& key, const JsonObject& v);
    bool has(const std::string& key) const;
    std::string dump(int indent = 2) const;

private:
    std::vector<std::pair<std::string, std::string>> items_;  // key, encoded value
    JsonObject& raw(const std::string& key, std::string encoded);
};

std::string json_number(double v);
std::string json_string(const std::string& s);

}  // namespace latentlab
