"""Releasing: model and dataset cards the Hub reads, eval scores as ``model-index``, and the push.

    from redstar.release.model_card import refresh_model_card      # (re)write README.md of a model dir
    from redstar.release.eval_results import add_eval_results      # eval metrics.json -> the card
    from redstar.release.dataset_card import write_dataset_card    # README.md next to curation exports
    from redstar.release.push import push                          # dry run or upload_folder

``huggingface_hub`` is imported only where a card is parsed or a push happens.
"""
