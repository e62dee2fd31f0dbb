"""Wire keys shared by the in-process engine and the Flower app: kebab-case and identical to Flower's."""

SERVER_ROUND = "server-round"
NUM_EXAMPLES = "num-examples"
PROXIMAL_MU = "proximal-mu"
TASK = "task"
LOCAL_EPOCHS = "local-epochs"
TRAIN_LOSS = "train-loss"
