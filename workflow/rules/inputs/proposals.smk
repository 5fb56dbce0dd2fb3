# Input functions of the rules in proposals.smk, used there only.


def proposal_truth():
    """The moments TEP's recall is measured on (the timelines kind: the training videos' train moments)."""
    return SOURCES.proposal_truth or f"{R}/annotations.parquet"
