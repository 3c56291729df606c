// flowpic-infer: run a model on FlowPics, three ways (apps/infer.h; each mode's run
// function in apps/infer_<mode>.cpp).
#include "apps/cli.h"
#include "apps/device_flag.h"
#include "apps/infer.h"
#include "apps/window_flags.h"
#include "flowpic/live_windows.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-infer: classify FlowPics with a model file (safetensors: from flowpic-train, or\n"
    "written by PyTorch with the same tensor names, see tests/torch_model_to_safetensors.py).\n"
    "Inputs, one of:\n"
    "  --images X.npy: N x C x H x W or N x H x W images, uint8, uint16, int64 or float32\n"
    "    (flowpic-render --npy-dataset writes them).  One row per image: index, predicted\n"
    "    class, and the probability of every class.\n"
    "  --data DATASET --eval: evaluate on one split (--split, default test) of a dataset from\n"
    "    flowpic-prep: accuracy, top-2 accuracy, per-class precision/recall/F1, macro-F1, the\n"
    "    confusion matrix (text; --confusion-csv, --confusion-png), images/s and per-image\n"
    "    latency p50/p99 at --batch and at batch 1.  Binning as the model's metadata says;\n"
    "    classes matched by name.\n"
    "  CAPTURE...|DIR: extract, window and bin exactly as the model's metadata says (window\n"
    "    flags are refused then, unless --override-prep; a model without prep metadata uses\n"
    "    the flags, whose defaults are the authors' settings) and classify every window.\n"
    "  --live IFACE or --stream -: packets off an interface (libpcap, immediate mode) or a\n"
    "    pcap/pcapng stream on stdin, each flow's windows classified as they close, by the\n"
    "    model's windowing; one flushed line per decision with its latency; SIGINT/SIGTERM\n"
    "    stop, decide what can be decided and print a summary (docs/LIVE.md).\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-infer --model model.safetensors --images out/np/X.npy\n"
    "  flowpic-infer --model model.safetensors --images X.npy --json | jq .predictions[0]\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --confusion-png cm.png\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --json | jq .macro_f1\n"
    "  flowpic-infer --model model.safetensors captures/ --output windows.csv --flows-summary flows.csv\n"
    "  flowpic-infer --model model.safetensors ucdavis/ --format timeseries --output windows.csv  # per-flow text\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --device cuda   # batch 1 via a CUDA graph\n"
    "  flowpic-infer --model model.safetensors --live eth0 --filter 'tcp or udp'     # answers as flows go\n"
    "  tcpdump -i eth0 -w - | flowpic-infer --model model.safetensors --stream - --json\n"
    "  flowpic-infer --model m.safetensors --live eth0 --early 0.25,0.5 --save-packets seen.pcap\n"
    "\nOutput CSV headers (classes in the model's label order):\n"
    "  --images:  index,class,p_<class>...\n"
    "  captures:  capture,proto,src,sport,dst,dport,view,window_start,packets,class,p_<class>...\n"
    "             (src/dst: the flow's client->server orientation; view: uni-fwd, uni-rev, bi;\n"
    "             window_start: epoch seconds)\n"
    "  --live, --stream: time,proto,src,sport,dst,dport,view,window_start,packets,partial,\n"
    "             fraction,class,p_<class>...,latency_ms  (time: of the decision, epoch seconds;\n"
    "             partial 1 for an --early decision at that fraction of the window; latency:\n"
    "             from the closing packet or the deadline to the decision).  --json: one\n"
    "             object per line, then {\"summary\": {...}}\n"
    "  --flows-summary: capture,proto,src,sport,dst,dport,windows,class,p_<class>...  (per flow:\n"
    "             the mean probability over its windows, both views; class = argmax of the mean)\n"
    "Metrics follow scikit-learn (zero_division=0; macro-F1 over the classes that are true or\n"
    "predicted at least once).  --json prints one object on stdout instead of the CSV or text.\n"
    "--device auto (the default) runs on the GPU when one is present; on CUDA only packet\n"
    "lists are copied to the device (--images uploads the dense images it is given).\n"
    "Environment: FLOWPIC_CPU=scalar runs the scalar reference kernels instead of AVX2.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-infer");
    app.footer(kFooter);
    std::string model_path, images, data, output = "-", split = "test", confusion_csv, confusion_png, flows_summary;
    std::vector<std::string> inputs;
    int batch = 64;
    size_t latency_samples = 200;
    std::string device = "auto";
    bool json = false, quiet = false, eval = false, override_prep = false;
    WindowFlags wf;
    LiveRequest live;
    app.add_option("--model", model_path, "model file (safetensors)")->required();
    app.add_option("inputs", inputs, "captures (pcap/pcapng files or directories)");
    app.add_option("--images", images, "a .npy of images");
    app.add_option("--data", data, "a dataset file from flowpic-prep (with --eval)");
    app.add_flag("--eval", eval, "evaluate the model on --data");
    app.add_option("--split", split, "--data: train, val, test or all")->default_val(split);
    app.add_option("--confusion-csv", confusion_csv, "--eval: write the confusion matrix as CSV");
    app.add_option("--confusion-png", confusion_png, "--eval: write the confusion matrix as a PNG heat map");
    app.add_option("--latency-samples", latency_samples, "--eval: batch-1 passes timed (0 = none)")
        ->default_val(latency_samples)->check(number_in(0, 1e6));
    app.add_option("--flows-summary", flows_summary, "captures: write the per-flow summary CSV");
    app.add_flag("--override-prep", override_prep, "captures: window flags override the model's prep metadata");
    app.add_option("--output", output, "CSV of predictions, or the --eval report (- for stdout)")->default_val(output);
    app.add_option("--batch", batch, "images per forward pass")->default_val(batch)->check(CLI::Range(1, 65536));
    const char* lg = "Live (--live IFACE, --stream -)";
    app.add_option("--live", live.interface, "classify packets off this interface as they arrive (libpcap)")->group(lg);
    std::string stream;
    app.add_option("--stream", stream, "- : classify a pcap/pcapng stream on stdin as it arrives")->group(lg);
    app.add_option("--filter", live.filter, "--live: BPF filter (tcpdump syntax)")->group(lg);
    app.add_option("--buffer-size", live.buffer_mb, "--live: kernel capture buffer, MB")
        ->default_val(live.buffer_mb)->check(number_in(1, 4096))->group(lg);
    app.add_option("--snaplen", live.snaplen, "--live: bytes kept per packet (headers are all that is read)")
        ->default_val(live.snaplen)->check(number_in(64, 262144))->group(lg);
    app.add_option("--grace", live.grace_s, "--live: seconds after a window's end before it closes with no packet")
        ->default_val(live.grace_s)->check(number_in(0, 60))->group(lg);
    std::string early;
    app.add_option("--early", early, "also decide at these fractions of each window (partial), e.g. 0.25,0.5")
        ->group(lg);
    app.add_option("--save-packets", live.save_packets, "also write the packets read to this pcap (as tcpdump -w)")
        ->group(lg);
    add_device_flag(&app, device);
    app.add_flag("--json", json, "print one JSON object on stdout instead of CSV or text");
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");
    wf.add_to(app);

    return run_cli(app, argc, argv, [&]() {
        if (json && output != "-") throw UsageError("--json prints to stdout; leave out --output");
        const bool is_live = !live.interface.empty() || !stream.empty();
        const int modes = !images.empty() + !data.empty() + !inputs.empty() + !live.interface.empty() + !stream.empty();
        if (modes != 1)
            throw UsageError("give exactly one input: --images X.npy, --data DATASET --eval, captures, --live IFACE or --stream -");
        if (!stream.empty() && stream != "-") throw UsageError("--stream reads standard input: give --stream -");
        for (const char* f : {"--filter", "--buffer-size", "--snaplen", "--grace"})
            if (app.count(f) && live.interface.empty()) throw UsageError(std::string(f) + " is for --live IFACE");
        for (const char* f : {"--early", "--save-packets"})
            if (app.count(f) && !is_live) throw UsageError(std::string(f) + " is for --live and --stream");
        if (is_live) {
            if (!flows_summary.empty()) throw UsageError("--flows-summary is for captures");
            check_outputs({model_path}, {{"--output", json ? "" : output}, {"--save-packets", live.save_packets}});
            live.model_path = model_path, live.output = output, live.batch = batch, live.device = device;
            live.json = json, live.quiet = quiet, live.override_prep = override_prep;
            live.early = parse_early_fractions(early);
            wf.finalize();
            live.windows = wf;
            for (const auto& name : prep_flag_names())
                if (app.count(name)) live.given_flags.push_back(name);
            return run_live(live);
        }
        if (data.empty() && (eval || !confusion_csv.empty() || !confusion_png.empty() || app.count("--split")))
            throw UsageError("--eval, --split and --confusion-* need --data DATASET");
        if (!data.empty() && !eval) throw UsageError("--data evaluates a model: add --eval");
        if (inputs.empty()) {
            if (!flows_summary.empty() || override_prep) throw UsageError("--flows-summary and --override-prep are for captures");
            for (const auto& name : prep_flag_names())
                if (app.count(name)) throw UsageError(name + " is for captures");
        }
        std::vector<std::string> read = {model_path};
        for (const auto* in : {&images, &data}) if (!in->empty()) read.push_back(*in);
        read.insert(read.end(), inputs.begin(), inputs.end());
        check_outputs(read, {{"--output", json ? "" : output},
                             {"--flows-summary", flows_summary},
                             {"--confusion-csv", confusion_csv},
                             {"--confusion-png", confusion_png}});
        if (!images.empty()) {
            ImagesRequest r;
            r.model_path = model_path, r.images = images, r.output = output;
            r.batch = batch, r.device = device, r.json = json, r.quiet = quiet;
            return run_images(r);
        }
        if (!data.empty()) {
            EvalRequest r;
            r.model_path = model_path, r.data_path = data, r.split = split, r.output = output;
            r.confusion_csv = confusion_csv, r.confusion_png = confusion_png;
            r.batch = batch, r.latency_samples = latency_samples, r.json = json, r.quiet = quiet;
            r.device = device;
            return run_eval(r);
        }
        CaptureRequest r;
        r.model_path = model_path, r.output = output, r.flows_summary = flows_summary, r.inputs = inputs;
        r.batch = batch, r.json = json, r.quiet = quiet, r.override_prep = override_prep;
        r.device = device;
        wf.finalize();
        r.windows = wf;
        for (const auto& name : prep_flag_names())
            if (app.count(name)) r.given_flags.push_back(name);
        return run_captures(r);
    });
}
