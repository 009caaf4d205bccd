// fraudflow's answer fine-tuning: every weight of the model trained with AdamW (llama.cpp's ggml-opt), on the loss
// of the answer tokens only. Each example is one first-pass text, the answer cue and the answer, alone in a window
// of the context's length, and every position but those predicting an answer has no label, so the gradient
// teaches the answer and nothing else. Built by fraudflow against llama.cpp, whose opt
// loop is patched to leave unlabelled positions out of the loss (src/stack/llama-cpp.ts).
//
// usage: fraudflow-answer-finetune -m base-f32.gguf -f examples.txt -o out.gguf --cue "fraud:"
//        [-c 256] [--epochs 3] [--lr 5e-5] [--seed 1] [--val-split 0]
// examples.txt: examples separated by a blank line, each ending "<cue> <answer>".
#include "llama.h"
#include "ggml-opt.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

struct options {
    std::string model, examples, out, cue;
    int n_ctx = 256, epochs = 3, threads = 0;
    float lr = 5e-5f, val_split = 0.0f;
    unsigned seed = 1;
};

struct example {
    std::vector<llama_token> tokens;
    size_t answer_from; // index of the first answer token
};

static void fail(const std::string & message) {
    fprintf(stderr, "fraudflow-answer-finetune: %s\n", message.c_str());
    exit(1);
}

static options parse_args(int argc, char ** argv) {
    options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc) fail("missing value after " + a);
        std::string v = argv[++i];
        if (a == "-m") o.model = v;
        else if (a == "-f") o.examples = v;
        else if (a == "-o") o.out = v;
        else if (a == "--cue") o.cue = v;
        else if (a == "-c") o.n_ctx = std::atoi(v.c_str());
        else if (a == "--epochs") o.epochs = std::atoi(v.c_str());
        else if (a == "--lr") o.lr = std::strtof(v.c_str(), nullptr);
        else if (a == "--seed") o.seed = std::strtoul(v.c_str(), nullptr, 10);
        else if (a == "--val-split") o.val_split = std::strtof(v.c_str(), nullptr);
        else if (a == "-t") o.threads = std::atoi(v.c_str());
        else fail("unknown option " + a);
    }
    if (o.model.empty() || o.examples.empty() || o.out.empty() || o.cue.empty()) fail("-m, -f, -o and --cue are required");
    return o;
}

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text) {
    std::vector<llama_token> tokens(text.size() + 8);
    int n = llama_tokenize(vocab, text.c_str(), (int) text.size(), tokens.data(), (int) tokens.size(), true, false);
    if (n < 0) fail("tokenizing an example failed");
    tokens.resize(n);
    return tokens;
}

// Each example's tokens, and where its answer starts: the tokens after the prompt (the text up to the cue).
static std::vector<example> read_examples(const options & o, const llama_vocab * vocab) {
    std::ifstream in(o.examples);
    if (!in) fail("cannot read " + o.examples);
    std::stringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    std::vector<example> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find("\n\n", start);
        std::string block = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? text.size() : end + 2;
        while (!block.empty() && block.back() == '\n') block.pop_back();
        if (block.empty()) continue;
        size_t cue = block.rfind("\n" + o.cue);
        if (cue == std::string::npos) fail("an example has no line starting with the cue " + o.cue);
        std::string prompt = block.substr(0, cue + 1 + o.cue.size());
        const std::vector<llama_token> prompt_tokens = tokenize(vocab, prompt);
        example e{tokenize(vocab, block), prompt_tokens.size()};
        if (e.answer_from >= e.tokens.size()) fail("an example has no answer after its cue");
        // The answer's position is only right if the example's tokens begin with exactly the prompt's.
        if (!std::equal(prompt_tokens.begin(), prompt_tokens.end(), e.tokens.begin()))
            fail("an example's tokens do not begin with its prompt's: the cue merges with the answer");
        if ((int) e.tokens.size() > o.n_ctx) fail("an example is longer than the context (-c)");
        out.push_back(std::move(e));
    }
    if (out.empty()) fail("no examples in " + o.examples);
    return out;
}

// One window per example, padded to the context's length and labelled only where the next token is an answer's.
// An example is alone in its window because that is how it is scored: the first pass embeds each text by itself,
// so a text read after other examples would teach the answer from states the served model never has.
static ggml_opt_dataset_t answer_dataset(const std::vector<example> & examples, const std::vector<size_t> & order,
                                         int n_ctx, llama_token pad) {
    ggml_opt_dataset_t dataset =
        ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx, n_ctx, (int64_t) order.size(), 1);
    auto * data = (llama_token *) ggml_opt_dataset_data(dataset)->data;
    auto * labels = (llama_token *) ggml_opt_dataset_labels(dataset)->data;
    for (size_t w = 0; w < order.size(); w++) {
        const example & e = examples[order[w]];
        llama_token * d = data + w * n_ctx;
        llama_token * l = labels + w * n_ctx;
        std::fill(d, d + n_ctx, pad);
        std::fill(l, l + n_ctx, -1);
        for (size_t p = 0; p < e.tokens.size(); p++) {
            d[p] = e.tokens[p];
            // Position p predicts token p + 1: labelled only when that is an answer token.
            if (p + 1 >= e.answer_from && p + 1 < e.tokens.size()) l[p] = e.tokens[p + 1];
        }
    }
    return dataset;
}

// The learning rate falls linearly over the run, from --lr to a fiftieth of it: full steps while the answer is
// learned, small ones at the end so the last examples seen do not decide the weights.
struct schedule {
    float lr;
    int64_t steps, step;
};
static schedule lr_schedule;

static ggml_opt_optimizer_params optimizer_params(void *) {
    ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
    const double left = 1.0 - (double) lr_schedule.step++ / (double) std::max<int64_t>(1, lr_schedule.steps);
    p.adamw.alpha = lr_schedule.lr * (float) std::max(0.02, left);
    return p;
}

int main(int argc, char ** argv) {
    const options o = parse_args(argc, argv);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.load_mode = LLAMA_LOAD_MODE_NONE; // writable weights
    llama_model * model = llama_model_load_from_file(o.model.c_str(), mp);
    if (!model) fail("cannot load " + o.model);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = o.n_ctx;
    cp.type_k = cp.type_v = GGML_TYPE_F32; // no f16 OUT_PROD
    if (o.threads > 0) cp.n_threads = cp.n_threads_batch = o.threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) fail("cannot create a training context");
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const std::vector<example> examples = read_examples(o, vocab);
    fprintf(stderr, "answer fine-tuning: %zu examples, context %d, %d epochs, lr %g\n", examples.size(), o.n_ctx,
            o.epochs, (double) o.lr);

    llama_opt_params op{};
    op.param_filter = llama_opt_param_filter_all;
    op.get_opt_pars = optimizer_params;
    op.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    llama_opt_init(ctx, model, op);

    std::vector<size_t> order(examples.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    const size_t n_val = (size_t) (order.size() * o.val_split);
    std::mt19937 rng(o.seed);
    ggml_opt_result_t train = ggml_opt_result_init(), eval = ggml_opt_result_init();
    lr_schedule = {o.lr, 0, 0};
    for (int epoch = 0; epoch < o.epochs; epoch++) {
        // A new order of the training examples each epoch; validation examples (the latest) stay last.
        std::shuffle(order.begin(), order.end() - n_val, rng);
        ggml_opt_dataset_t dataset = answer_dataset(examples, order, o.n_ctx, llama_vocab_eos(vocab));
        const int64_t n_windows = ggml_opt_dataset_ndata(dataset);
        const int64_t split = n_val ? n_windows - std::max<int64_t>(1, (int64_t) (n_windows * o.val_split)) : n_windows;
        if (epoch == 0) lr_schedule.steps = split * o.epochs;
        llama_opt_epoch(ctx, dataset, train, eval, split, ggml_opt_epoch_callback_progress_bar,
                        ggml_opt_epoch_callback_progress_bar);
        fprintf(stderr, "\n");
        ggml_opt_result_reset(train);
        ggml_opt_result_reset(eval);
        ggml_opt_dataset_free(dataset);
    }
    ggml_opt_result_free(train);
    ggml_opt_result_free(eval);
    llama_model_save_to_file(model, o.out.c_str());
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
