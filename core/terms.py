"""The technical terms a person meets, each explained once, in plain words, the same way everywhere.

Pages show an explanation as a widget's help tooltip (``help=terms.explain("epoch")``) or under a small
"What is this?" (ui/terms.py). Both texts go through the catalogue (core/i18n.py), so the Chinese words are
the glossary's (shared/GLOSSARY.md: 特征提取, 微调, 学习率, 轮（epoch）...).
"""

from __future__ import annotations

from typing import NamedTuple

from core.i18n import N_, _


class Term(NamedTuple):
    name: str         # as a heading: "Feature extraction"
    explanation: str  # one or two plain sentences


TERMS: dict[str, Term] = {
    "transfer_learning": Term(N_("Transfer learning"), N_(
        "Reusing what a network learned on one large task (millions of photos or sentences) for your own "
        "smaller task, so it needs far fewer examples and far less time than learning from nothing.")),
    "pretrained_model": Term(N_("Pretrained model"), N_(
        "A network someone has already trained on a large public data set. Its early layers have learned "
        "general patterns (edges, shapes, word meanings) that are useful for almost any task.")),
    "backbone": Term(N_("Backbone"), N_(
        "The pretrained network without its last layer: it turns an image or a text into a list of numbers "
        "(its features) that describe it.")),
    "head": Term(N_("Classifier head"), N_(
        "The small new last layer that turns the backbone's features into your classes. It always starts "
        "from scratch and always trains.")),
    "feature_extraction": Term(N_("Feature extraction"), N_(
        "The backbone stays frozen and only a new classifier head is trained on its features. Fast, and hard "
        "to overfit: the best first try on small data.")),
    "fine_tuning": Term(N_("Fine-tuning"), N_(
        "The whole pretrained network keeps learning on your data, with a small learning rate so it does not "
        "forget what it knew. Slower, and usually more accurate when your data differ from its own.")),
    "from_scratch": Term(N_("Training from scratch"), N_(
        "The same kind of network starting from random weights, with no pretraining: the baseline that shows "
        "what transfer learning adds.")),
    "baseline": Term(N_("Baseline"), N_(
        "A simple method to compare against. If the fancy one is not clearly better than the baseline, it "
        "is not worth its cost.")),
    "freeze": Term(N_("Frozen layers"), N_(
        "Layers whose weights do not change during training. Freezing keeps what the pretrained network "
        "learned and makes training much faster.")),
    "gradual_unfreezing": Term(N_("Gradual unfreezing"), N_(
        "Train the head first, then let the backbone's layers learn too, from the top down, each with a "
        "smaller learning rate than the one above (the ULMFiT recipe).")),
    "learning_rate": Term(N_("Learning rate"), N_(
        "How big a step the weights take after each batch. Too large and the loss jumps around or grows; too "
        "small and training crawls.")),
    "learning_rate_finder": Term(N_("Learning-rate finder"), N_(
        "A quick test that trains a copy of the model while raising the learning rate step by step, and "
        "suggests the rate where the loss falls fastest.")),
    "epoch": Term(N_("Epoch"), N_(
        "One pass over all the training examples. Training usually takes several epochs.")),
    "batch_size": Term(N_("Batch size"), N_(
        "How many examples the network looks at before each step of learning.")),
    "loss": Term(N_("Loss"), N_(
        "How wrong the model's answers are, as one number (lower is better). Training lowers it on the "
        "training data; validation loss tells whether that also holds on new data.")),
    "accuracy": Term(N_("Accuracy"), N_(
        "The share of validation examples the model labels correctly.")),
    "macro_f1": Term(N_("Macro-F1"), N_(
        "An average over the classes of how well each one is found, so a rare class counts as much as a "
        "common one.")),
    "validation_set": Term(N_("Validation set"), N_(
        "Examples kept apart from training, used only to measure how well the model does on data it has "
        "not seen.")),
    "overfitting": Term(N_("Overfitting"), N_(
        "The model memorises its training examples instead of learning the pattern: training accuracy keeps "
        "rising while validation accuracy stalls or falls.")),
    "early_stopping": Term(N_("Early stopping"), N_(
        "Training ends by itself when the validation loss has stopped improving for a few epochs; the best "
        "weights are kept.")),
    "augmentation": Term(N_("Data augmentation"), N_(
        "Random crops and flips of the training images, so the model sees a slightly different version of "
        "each one every time and overfits less.")),
    "confusion_matrix": Term(N_("Confusion matrix"), N_(
        "A table of true classes against predicted ones: the diagonal is what was right, every other cell "
        "shows which class was mistaken for which.")),
    "embedding_map": Term(N_("Embedding map"), N_(
        "Every example's features squeezed onto a flat map, so that examples the network finds alike lie "
        "close together. Well-separated colours mean the classes are easy to tell apart.")),
    "grad_cam": Term(N_("Grad-CAM"), N_(
        "A heat map of the parts of an image that pushed the model towards its answer.")),
    "word_importance": Term(N_("Word importance"), N_(
        "How much each word pushed the model towards its answer (green) or away from it (red).")),
    "tfidf": Term(N_("TF-IDF"), N_(
        "A classic text baseline with no neural network: counts of the words in each text, weighted by how "
        "rare each word is, then a linear classifier.")),
    "lstm": Term(N_("LSTM"), N_(
        "A recurrent neural network that reads a text word by word; here trained from scratch, as a baseline.")),
    "domain_adaptation": Term(N_("Domain adaptation"), N_(
        "Making a model trained on one kind of data (the source domain) work on another kind (the target "
        "domain), without labels for the target.")),
    "source_target": Term(N_("Source and target domains"), N_(
        "The source domain is the labelled data you train on; the target domain is where the model will be "
        "used (other cameras, other writers, other topics).")),
    "domain_gap": Term(N_("Domain gap"), N_(
        "How different the target data look from the training data, measured by how well a simple classifier "
        "can tell them apart: 50% means alike, 100% means completely different.")),
    "coral": Term(N_("CORAL"), N_(
        "CORrelation ALignment: shifts and stretches the source features so that their averages and "
        "correlations match the target's.")),
    "standardize": Term(N_("Per-domain standardisation"), N_(
        "Gives each domain's features the same average and spread, separately for source and target.")),
    "subspace": Term(N_("Subspace alignment"), N_(
        "Finds the main directions in which each domain's features vary and rotates the source's onto the "
        "target's.")),
    "adabn": Term(N_("AdaBN"), N_(
        "Re-measures the network's BatchNorm statistics on the target data after training, a cheap way to "
        "adapt to new lighting or style.")),
    "dann": Term(N_("DANN"), N_(
        "Domain-adversarial training: while the network learns the labels, it also learns features from which "
        "a second classifier cannot tell source from target.")),
    "differential_privacy": Term(N_("Differential privacy"), N_(
        "A guarantee that the trained model reveals almost nothing about any single training example. It is "
        "bought with noise added during training, which costs some accuracy.")),
    "epsilon": Term(N_("Privacy budget ε"), N_(
        "How much privacy may be spent: smaller ε means stronger privacy and more noise. Values from 1 to 10 "
        "are common; δ is the small chance that the guarantee fails.")),
    "clipping": Term(N_("Gradient clipping"), N_(
        "Each example's influence on a step is capped at this size before noise is added, so that no single "
        "example can move the model much.")),
    "dp_sgd": Term(N_("DP-SGD"), N_(
        "Differentially private stochastic gradient descent: every step clips each example's gradient and "
        "adds random noise (here through the Opacus library).")),
    "membership_inference": Term(N_("Membership inference attack"), N_(
        "An attacker guesses, from the model's losses, whether an example was in the training data. A score "
        "near 50% means the guess is no better than a coin toss: little leaks.")),
    "confident_learning": Term(N_("Confident learning"), N_(
        "A way to find examples whose label is probably wrong: a model trained on the other examples is "
        "confident that they belong to another class (the cleanlab library).")),
    "label_error": Term(N_("Label error"), N_(
        "An example filed under the wrong class, for instance a 3 in the folder of 5s.")),
    "duplicate": Term(N_("Duplicate"), N_(
        "The same example twice. A copy shared by the training and validation sets makes the validation "
        "score look better than it is.")),
    "outlier": Term(N_("Outlier"), N_(
        "An example unlike all the others: often a broken file, a wrong crop, or something from another data "
        "set.")),
    "data_efficiency_curve": Term(N_("Data-efficiency curve"), N_(
        "Accuracy against the number of training examples per class, for each strategy: it shows how much "
        "data transfer learning saves.")),
    "run_backbone": Term(N_("Your run as a backbone"), N_(
        "A network you trained earlier, reused as the pretrained starting point of a new task: pretrain, "
        "then transfer.")),
    "encoding": Term(N_("File encoding"), N_(
        "How a file stores its letters as bytes. Chinese tables saved by Excel are often GBK or GB18030; "
        "reading them with the wrong encoding turns the text into gibberish.")),
    "onnx": Term(N_("ONNX"), N_(
        "An open file format for trained networks that runs outside Python's training tools, on phones, "
        "servers and browsers.")),
}


def name(key: str) -> str:
    """The term as a heading, in the current language."""
    return _(TERMS[key].name)


def explain(key: str) -> str:
    """The term's one- or two-sentence explanation, in the current language."""
    return _(TERMS[key].explanation)


def describe(key: str) -> str:
    """"**Term**: explanation", for a tooltip or a "What is this?" list; in another language the English term
    follows in brackets, the word a student will meet in code and papers: "**微调**（Fine-tuning）：..."."""
    heading, english = name(key), TERMS[key].name
    if english.lower() not in heading.lower():
        heading = _("{term} ({english})", term=heading, english=english)
    return _("**{term}**: {explanation}", term=heading, explanation=explain(key))
