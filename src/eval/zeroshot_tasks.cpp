#include "enwanda/eval/zeroshot_tasks.h"

#include <algorithm>

#include "enwanda/errors.h"
#include "enwanda/eval/mmlu.h"

namespace enwanda {

namespace {
using nlohmann::json;

const json& field(const json& doc, const char* key) {
  if (!doc.is_object()) throw InputError("the record is not a JSON object");
  auto it = doc.find(key);
  if (it == doc.end()) throw InputError(std::string("field \"") + key + "\" is missing");
  return *it;
}

std::string text_field(const json& doc, const char* key) {
  const json& v = field(doc, key);
  if (!v.is_string()) throw InputError(std::string("field \"") + key + "\" must be a string, got " + v.dump());
  return v.get<std::string>();
}

std::vector<std::string> text_list(const json& v, const std::string& key) {
  if (!v.is_array()) throw InputError("field \"" + key + "\" must be a list of strings, got " + v.dump());
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) throw InputError("field \"" + key + "\" must be a list of strings, got " + v.dump());
    out.push_back(s.get<std::string>());
  }
  return out;
}

// An integer label: a number, a boolean (false 0, true 1) or a string of digits ("2", as hellaswag's).
int64_t integer_field(const json& doc, const char* key) {
  const json& v = field(doc, key);
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::stoll(s);
  }
  throw InputError(std::string("field \"") + key + "\" must be an integer label, got " + v.dump());
}

std::string strip(const std::string& s) {  // Python's str.strip() for ASCII whitespace
  const char* ws = " \t\n\r\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

std::string python_capitalize(const std::string& s) {  // first character upper, the rest lower (ASCII)
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(i == 0 ? std::toupper(static_cast<unsigned char>(out[i])) : std::tolower(static_cast<unsigned char>(out[i])));
  return out;
}

// Every choice shares the context; continuation = target delimiter " " + choice.
Example shared_context(std::string context, std::vector<std::string> choices, int64_t label) {
  Example ex;
  for (const auto& c : choices) {
    ex.contexts.push_back(context);
    ex.continuations.push_back(" " + c);
  }
  ex.choice_texts = std::move(choices);
  ex.label = label;
  return ex;
}

// ARC and OpenBookQA: choices {"text": [...], "label": ["A", ...]}; gold = choices.label.index(key).
Example lettered_choices(std::string context, const json& doc, std::string answer_key) {
  const json& choices = field(doc, "choices");
  if (!choices.is_object()) throw InputError("field \"choices\" must be {\"text\": [...], \"label\": [...]}, got " + choices.dump());
  auto texts = text_list(field(choices, "text"), "choices.text");
  auto labels = text_list(field(choices, "label"), "choices.label");
  auto it = std::find(labels.begin(), labels.end(), answer_key);
  if (it == labels.end()) throw InputError("answerKey \"" + answer_key + "\" is not one of choices.label " + field(choices, "label").dump());
  return shared_context(std::move(context), std::move(texts), it - labels.begin());
}
}  // namespace

int64_t code_points(const std::string& utf8) {
  return std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// lm_eval/tasks/super_glue/boolq/default.yaml: "{{passage}}\nQuestion: {{question}}?\nAnswer:",
// doc_to_choice ["no", "yes"], doc_to_target label. The HF export of super_glue's boolq has "label";
// google's boolq dataset has "answer" (true/false), accepted too.
Example boolq_example(const json& doc) {
  std::string context = text_field(doc, "passage") + "\nQuestion: " + text_field(doc, "question") + "?\nAnswer:";
  const int64_t label = doc.contains("label") ? integer_field(doc, "label") : integer_field(doc, "answer");
  return shared_context(std::move(context), {"no", "yes"}, label);
}

// lm_eval/tasks/glue/rte/default.yaml (the task lm-eval calls `rte`, GLUE's copy):
// "{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:", doc_to_choice ["True", "False"],
// doc_to_target label (0 = entailment = "True"). super_glue's copy (lm_eval/tasks/super_glue/rte,
// task `sglue_rte`) has the same prompt and choices over premise/hypothesis; those names are accepted.
// GLUE's is the one the Wanda paper's table reports as RTE.
Example rte_example(const json& doc) {
  const bool glue = doc.is_object() && doc.contains("sentence1");
  std::string first = text_field(doc, glue ? "sentence1" : "premise");
  std::string second = text_field(doc, glue ? "sentence2" : "hypothesis");
  return shared_context(first + "\nQuestion: " + second + " True or False?\nAnswer:", {"True", "False"}, integer_field(doc, "label"));
}

// Python's re.sub("\\[.*?\\]", "", t) without a backtracking engine: from each "[" the shortest run
// up to the first "]" with no newline in between ("." matches anything but "\n") is removed; a "["
// with no such "]" stays and the scan goes on at the next character. One pass, linear in the text
// (std::regex recursed per character and overflowed the stack on a "[" followed by 60,000 words).
namespace {
std::string remove_bracketed(const std::string& t) {
  std::string out;
  out.reserve(t.size());
  size_t next_close = 0;  // position of the first "]" at or after i, cached
  size_t next_newline = 0;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '[') {
      if (next_close <= i) next_close = std::min(t.find(']', i + 1), t.size());
      if (next_newline <= i) next_newline = std::min(t.find('\n', i + 1), t.size());
      if (next_close < t.size() && next_close < next_newline) {
        i = next_close + 1;
        continue;
      }
    }
    out.push_back(t[i++]);
  }
  return out;
}
}  // namespace

// lm_eval/tasks/hellaswag/utils.py: preprocess(text) strips, turns " [title]" into ". ", removes
// bracketed text and collapses double spaces.
std::string hellaswag_preprocess(const std::string& text) {
  std::string t = strip(text);
  t = replace_all(t, " [title]", ". ");
  t = remove_bracketed(t);
  t = replace_all(t, "  ", " ");
  return t;
}

// lm_eval/tasks/hellaswag/hellaswag.yaml + utils.py process_docs: query =
// preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()), choices = preprocess(ending),
// gold = int(label); acc and acc_norm.
Example hellaswag_example(const json& doc) {
  std::string ctx = text_field(doc, "ctx_a") + " " + python_capitalize(text_field(doc, "ctx_b"));
  std::string context = hellaswag_preprocess(text_field(doc, "activity_label") + ": " + ctx);
  std::vector<std::string> choices;
  for (const auto& ending : text_list(field(doc, "endings"), "endings")) choices.push_back(hellaswag_preprocess(ending));
  return shared_context(std::move(context), std::move(choices), integer_field(doc, "label"));
}

// lm_eval/tasks/winogrande/default.yaml + preprocess_winogrande.py (multiple_inputs: true):
// doc_to_choice = [sentence[:i] + option1, sentence[:i] + option2] with i the index of "_", used as
// the contexts; doc_to_target = sentence[i + 1:].strip(), the one continuation; gold =
// {"1": 0, "2": 1}[answer]; acc only.
Example winogrande_example(const json& doc) {
  const std::string sentence = text_field(doc, "sentence");
  const size_t blank = sentence.find('_');
  if (blank == std::string::npos) throw InputError("field \"sentence\" has no \"_\" blank");
  const json& answer = field(doc, "answer");
  const std::string a = answer.is_string() ? answer.get<std::string>() : answer.dump();
  if (a != "1" && a != "2") throw InputError("field \"answer\" must be \"1\" or \"2\", got " + answer.dump());
  Example ex;
  const std::string continuation = " " + strip(sentence.substr(blank + 1));
  for (const char* option : {"option1", "option2"}) {
    ex.contexts.push_back(sentence.substr(0, blank) + text_field(doc, option));
    ex.continuations.push_back(continuation);
  }
  ex.choice_texts = ex.contexts;
  ex.label = a == "1" ? 0 : 1;
  return ex;
}

// lm_eval/tasks/arc/arc_easy.yaml (arc_challenge.yaml includes it): "Question: {{question}}\nAnswer:",
// doc_to_choice choices.text, doc_to_target choices.label.index(answerKey); acc and acc_norm.
Example arc_example(const json& doc) {
  return lettered_choices("Question: " + text_field(doc, "question") + "\nAnswer:", doc, text_field(doc, "answerKey"));
}

// lm_eval/tasks/openbookqa/openbookqa.yaml: doc_to_text question_stem, doc_to_choice choices.text,
// doc_to_target choices.label.index(answerKey.lstrip()); acc and acc_norm.
Example openbookqa_example(const json& doc) {
  const std::string key = text_field(doc, "answerKey");
  const size_t first = key.find_first_not_of(" \t\n\r\f\v");
  return lettered_choices(text_field(doc, "question_stem"), doc, first == std::string::npos ? "" : key.substr(first));
}

// lm_eval/tasks/piqa/piqa.yaml: "Question: {{goal}}\nAnswer:", doc_to_choice [sol1, sol2],
// doc_to_target label; acc and acc_norm.
Example piqa_example(const json& doc) {
  return shared_context("Question: " + text_field(doc, "goal") + "\nAnswer:", {text_field(doc, "sol1"), text_field(doc, "sol2")},
                        integer_field(doc, "label"));
}

// lm_eval/tasks/lambada/lambada_openai.yaml (output_type loglikelihood, test split):
// doc_to_text "{{text.split(' ')[:-1]|join(' ')}}", doc_to_target "{{' '+text.split(' ')[-1]}}";
// Python's split(' ') cuts at every single space. Metrics perplexity and acc.
Example lambada_example(const json& doc) {
  const std::string text = text_field(doc, "text");
  const size_t last_space = text.rfind(' ');
  Example ex;
  ex.contexts.push_back(last_space == std::string::npos ? "" : text.substr(0, last_space));
  ex.continuations.push_back(" " + (last_space == std::string::npos ? text : text.substr(last_space + 1)));
  ex.choice_texts.push_back(ex.continuations[0].substr(1));
  ex.label = 0;
  return ex;
}

// A template's pieces: literal text and {field} names, as Python's str.format reads "{name}" ("{{"
// and "}}" are literal braces). Malformed braces and a template that names no field are refused:
// such a template would give every record the same prompt.
std::vector<TemplatePiece> parse_template(const std::string& templ) {
  std::vector<TemplatePiece> pieces;
  std::string literal;
  bool names_a_field = false;
  for (size_t i = 0; i < templ.size(); ++i) {
    const char c = templ[i];
    if ((c == '{' || c == '}') && i + 1 < templ.size() && templ[i + 1] == c) {
      literal.push_back(c);
      ++i;
    } else if (c == '{') {
      const size_t close = templ.find('}', i + 1);
      const std::string name = close == std::string::npos ? "" : templ.substr(i + 1, close - i - 1);
      const bool identifier = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
      });
      if (!identifier)
        throw UsageError("--template: \"{\" at character " + std::to_string(i + 1) +
                         " does not open a {field} name (letters, digits, _); write {{ for a literal brace");
      if (!literal.empty()) pieces.push_back({false, std::move(literal)});
      literal.clear();
      pieces.push_back({true, name});
      names_a_field = true;
      i = close;
    } else if (c == '}') {
      throw UsageError("--template: \"}\" at character " + std::to_string(i + 1) + " closes nothing; write }} for a literal brace");
    } else {
      literal.push_back(c);
    }
  }
  if (!literal.empty()) pieces.push_back({false, std::move(literal)});
  if (!names_a_field)
    throw UsageError("--template names no field of the records, so every example would get the same prompt; "
                     "name the text's field in braces, e.g. \"Email: {text} Phishing?\"");
  return pieces;
}

// mc: {"context", "choices", "label"}, or with a template: the template filled from the record's
// fields (each named field must be there), choices from --choices or the record's "choices".
Example mc_example(const json& doc, const std::string& templ, const std::vector<std::string>& choices) {
  if (templ.empty()) {
    if (doc.is_object() && !doc.contains("context") && doc.contains("text"))
      throw UsageError("mc data with a \"text\" field needs --template \"...{text}...\" and --choices a,b");
    std::string context = text_field(doc, "context");
    return shared_context(std::move(context), choices.empty() ? text_list(field(doc, "choices"), "choices") : choices,
                          integer_field(doc, "label"));
  }
  std::string context;
  for (const auto& piece : parse_template(templ)) {
    if (!piece.is_field) {
      context += piece.text;
      continue;
    }
    const json& v = field(doc, piece.text.c_str());  // "field \"txt\" is missing" for a name the record lacks
    if (v.is_string()) context += v.get<std::string>();
    else if (v.is_number() || v.is_boolean()) context += v.dump();
    else throw InputError("field \"" + piece.text + "\" named by --template must be a string or a number, got " + v.dump());
  }
  std::vector<std::string> opts = choices;
  if (opts.empty()) {
    if (!doc.contains("choices")) throw UsageError("mc data with --template needs --choices a,b or a \"choices\" list in each record");
    opts = text_list(field(doc, "choices"), "choices");
  }
  return shared_context(std::move(context), std::move(opts), integer_field(doc, "label"));
}

namespace {
const std::vector<TaskDefinition>& definitions() {
  static const std::vector<TaskDefinition> tasks = {
      {"boolq", "validation", false, boolq_example},
      {"rte", "validation", false, rte_example},
      {"hellaswag", "validation", true, hellaswag_example},
      {"winogrande", "validation", false, winogrande_example},
      {"arc_easy", "test", true, arc_example},
      {"arc_challenge", "test", true, arc_example},
      {"openbookqa", "test", true, openbookqa_example},
      {"piqa", "validation", true, piqa_example},
      {"mc", "", true, nullptr},
      {"lambada_openai", "test", false, lambada_example, /*loglikelihood=*/true},
  };
  return tasks;
}
}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& t : definitions()) names.push_back(t.name);
  return names;
}

const TaskDefinition& task_definition(const std::string& name) {
  for (const auto& t : definitions())
    if (t.name == name) return t;
  // an MMLU subject (mmlu.h): lm_eval/tasks/mmlu/default/_default_template_yaml, test split, acc only
  static const TaskDefinition mmlu_subject = {"mmlu", "test", false, nullptr};
  if (name.rfind("mmlu_", 0) == 0 && !mmlu_category(name.substr(5)).empty()) return mmlu_subject;
  std::string list;
  for (const auto& n : task_names()) list += (list.empty() ? "" : ", ") + n;
  throw UsageError("--task must be one of " + list + ", mmlu or wanda7; got " + name);
}

const std::vector<std::string>& wanda7_tasks() {
  static const std::vector<std::string> tasks = {"boolq", "rte", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "openbookqa"};
  return tasks;
}

std::string wanda7_column(const std::string& task) {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"boolq", "BoolQ"},       {"rte", "RTE"},     {"hellaswag", "HellaSwag"}, {"winogrande", "WinoGrande"},
      {"arc_easy", "ARC-e"},    {"arc_challenge", "ARC-c"}, {"openbookqa", "OBQA"}};
  for (const auto& [t, c] : columns)
    if (t == task) return c;
  return task;
}

}  // namespace enwanda
