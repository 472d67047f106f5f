#include "enwanda/eval/mmlu.h"

#include <algorithm>
#include <cmath>

#include "enwanda/errors.h"

namespace enwanda {

using nlohmann::json;

const std::vector<std::pair<std::string, std::string>>& mmlu_subjects() {
  static const std::vector<std::pair<std::string, std::string>> subjects = {
      {"abstract_algebra", "stem"}, {"anatomy", "stem"}, {"astronomy", "stem"}, {"business_ethics", "other"},
      {"clinical_knowledge", "other"}, {"college_biology", "stem"}, {"college_chemistry", "stem"},
      {"college_computer_science", "stem"}, {"college_mathematics", "stem"}, {"college_medicine", "other"},
      {"college_physics", "stem"}, {"computer_security", "stem"}, {"conceptual_physics", "stem"},
      {"econometrics", "social_sciences"}, {"electrical_engineering", "stem"}, {"elementary_mathematics", "stem"},
      {"formal_logic", "humanities"}, {"global_facts", "other"}, {"high_school_biology", "stem"},
      {"high_school_chemistry", "stem"}, {"high_school_computer_science", "stem"},
      {"high_school_european_history", "humanities"}, {"high_school_geography", "social_sciences"},
      {"high_school_government_and_politics", "social_sciences"}, {"high_school_macroeconomics", "social_sciences"},
      {"high_school_mathematics", "stem"}, {"high_school_microeconomics", "social_sciences"},
      {"high_school_physics", "stem"}, {"high_school_psychology", "social_sciences"}, {"high_school_statistics", "stem"},
      {"high_school_us_history", "humanities"}, {"high_school_world_history", "humanities"}, {"human_aging", "other"},
      {"human_sexuality", "social_sciences"}, {"international_law", "humanities"}, {"jurisprudence", "humanities"},
      {"logical_fallacies", "humanities"}, {"machine_learning", "stem"}, {"management", "other"},
      {"marketing", "other"}, {"medical_genetics", "other"}, {"miscellaneous", "other"},
      {"moral_disputes", "humanities"}, {"moral_scenarios", "humanities"}, {"nutrition", "other"},
      {"philosophy", "humanities"}, {"prehistory", "humanities"}, {"professional_accounting", "other"},
      {"professional_law", "humanities"}, {"professional_medicine", "other"},
      {"professional_psychology", "social_sciences"}, {"public_relations", "social_sciences"},
      {"security_studies", "social_sciences"}, {"sociology", "social_sciences"}, {"us_foreign_policy", "social_sciences"},
      {"virology", "other"}, {"world_religions", "humanities"},
  };
  return subjects;
}

std::string mmlu_category(const std::string& subject) {
  for (const auto& [s, c] : mmlu_subjects())
    if (s == subject) return c;
  return "";
}

std::string mmlu_description(const std::string& subject) {
  std::string words = subject;  // ' '.join(subject.split('_'))
  for (char& c : words)
    if (c == '_') c = ' ';
  return "The following are multiple choice questions (with answers) about " + words + ".\n\n";
}

namespace {
// The length of the Python-whitespace character (str.isspace) starting at s[i], 0 if none: ASCII
// \t\n\v\f\r, \x1c-\x1f and space, and U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000 in UTF-8.
size_t space_at(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned c = b(i);
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c == 0xc2 && (b(i + 1) == 0x85 || b(i + 1) == 0xa0)) return 2;
  if (c == 0xe1 && b(i + 1) == 0x9a && b(i + 2) == 0x80) return 3;
  if (c == 0xe2 && b(i + 1) == 0x80 && ((b(i + 2) >= 0x80 && b(i + 2) <= 0x8a) || b(i + 2) == 0xa8 || b(i + 2) == 0xa9 || b(i + 2) == 0xaf))
    return 3;
  if (c == 0xe2 && b(i + 1) == 0x81 && b(i + 2) == 0x9f) return 3;
  if (c == 0xe3 && b(i + 1) == 0x80 && b(i + 2) == 0x80) return 3;
  return 0;
}

// Python's str.strip() over UTF-8
std::string python_strip(const std::string& s) {
  size_t begin = 0;
  while (size_t n = space_at(s, begin)) begin += n;
  size_t end = begin;
  for (size_t i = begin; i < s.size();) {  // the end of the last non-space character
    const size_t n = space_at(s, i);
    if (n) {
      i += n;
    } else {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      i += c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      end = std::min(i, s.size());
    }
  }
  return s.substr(begin, end - begin);
}

const json& field(const json& doc, const char* key) {
  if (!doc.is_object()) throw InputError("the record is not a JSON object");
  auto it = doc.find(key);
  if (it == doc.end()) throw InputError(std::string("field \"") + key + "\" is missing");
  return *it;
}
}  // namespace

std::string mmlu_doc_to_text(const json& doc) {
  const json& q = field(doc, "question");
  if (!q.is_string()) throw InputError("field \"question\" must be a string, got " + q.dump());
  const json& choices = field(doc, "choices");
  if (!choices.is_array() || choices.size() != 4 ||
      !std::all_of(choices.begin(), choices.end(), [](const json& c) { return c.is_string(); }))
    throw InputError("field \"choices\" must be a list of 4 strings, got " + choices.dump());
  std::string text = python_strip(q.get<std::string>());
  const char* letters[] = {"A", "B", "C", "D"};
  for (size_t i = 0; i < 4; ++i) text += std::string("\n") + letters[i] + ". " + choices[i].get<std::string>();
  return text + "\nAnswer:";
}

int64_t mmlu_answer(const json& doc) {
  const json& a = field(doc, "answer");
  if (a.is_number_integer() && a.get<int64_t>() >= 0 && a.get<int64_t>() < 4) return a.get<int64_t>();
  throw InputError("field \"answer\" must be an index 0..3 of choices, got " + a.dump());
}

std::string mmlu_fewshot_context(const std::string& subject, const std::vector<json>& dev, const json& doc,
                                 int64_t num_fewshot) {
  std::string context = mmlu_description(subject);
  if (num_fewshot <= 0) return context;
  // FirstNSampler.sample(n): the first n dev documents (n <= len(docs) asserted); get_context drops
  // the document itself (x != doc) and keeps num_fewshot
  if (static_cast<int64_t>(dev.size()) < num_fewshot)
    throw UsageError("--num-fewshot " + std::to_string(num_fewshot) + ": the dev split of " + subject + " has only " +
                     std::to_string(dev.size()) + " documents");
  const char* letters[] = {"A", "B", "C", "D"};
  for (int64_t i = 0; i < num_fewshot; ++i) {
    const json& shot = dev[static_cast<size_t>(i)];
    if (shot == doc) continue;
    context += mmlu_doc_to_text(shot) + " " + letters[mmlu_answer(shot)] + "\n\n";
  }
  return context;
}

Example mmlu_example(const std::string& subject, const std::vector<json>& dev, const json& doc, int64_t num_fewshot) {
  const std::string context = mmlu_fewshot_context(subject, dev, doc, num_fewshot) + mmlu_doc_to_text(doc);
  Example ex;
  for (const char* letter : {"A", "B", "C", "D"}) {
    ex.contexts.push_back(context);
    ex.continuations.push_back(std::string(" ") + letter);
    ex.choice_texts.push_back(letter);
  }
  ex.label = mmlu_answer(doc);
  return ex;
}

GroupMetric aggregate_group(const std::vector<GroupMetric>& members) {
  GroupMetric g;
  double weighted = 0, pooled = 0;
  bool stderr_known = true;
  for (const auto& m : members) {
    weighted += m.value * static_cast<double>(m.size);
    g.size += m.size;
    if (m.stderr < 0) stderr_known = false;
    pooled += static_cast<double>(m.size - 1) * m.stderr * m.stderr * static_cast<double>(m.size);
  }
  g.value = weighted / static_cast<double>(g.size);
  // pooled_sample_stderr: sqrt(sum((n_i - 1) * se_i^2 * n_i) / (sum n_i - k) / sum n_i)
  const double dof = static_cast<double>(g.size) - static_cast<double>(members.size());
  g.stderr = stderr_known && dof > 0 ? std::sqrt(pooled / dof / static_cast<double>(g.size)) : -1;
  return g;
}

}  // namespace enwanda
