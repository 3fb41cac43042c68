"""Label assignment and prediction on hand-built spike counts (rules of the original code)."""
import numpy as np
import pytest

from snn.labels import assign_labels, class_scores, confusion_matrix, predict


def test_assign_labels_highest_mean_response():
    # 4 neurons, images of classes 0, 0, 1, 2
    counts = np.array([[4, 0, 1, 0],
                       [2, 0, 1, 0],
                       [0, 5, 1, 0],
                       [1, 1, 3, 0]])
    labels = np.array([0, 0, 1, 2])
    # neuron 0: means 3, 0, 1 -> 0; neuron 1: 0, 5, 1 -> 1; neuron 2: 1, 1, 3 -> 2; never: -1
    np.testing.assert_array_equal(assign_labels(counts, labels), [0, 1, 2, -1])


def test_assign_labels_tie_goes_to_lower_class():
    counts = np.array([[2], [2]])
    np.testing.assert_array_equal(assign_labels(counts, [3, 1]), [1])


def test_predict_mean_of_class_neurons_and_ties():
    neuron_labels = np.array([0, 0, 1, -1, 3])
    counts = np.array([[4, 0, 3, 9, 0],       # class 0 mean 2, class 1 mean 3 -> 1
                       [4, 4, 3, 0, 0],       # class 0 mean 4 -> 0
                       [0, 0, 0, 0, 0],       # all zero: tie -> highest class (original: 9)
                       [2, 2, 2, 0, 2]])      # 0, 1, 3 tie at 2 -> 3
    scores = class_scores(counts, neuron_labels)
    assert scores[0, 0] == 2 and scores[0, 1] == 3 and scores[0, 2] == 0
    np.testing.assert_array_equal(predict(counts, neuron_labels), [1, 0, 9, 3])


def test_confusion_matrix_and_errors():
    m = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    assert m.sum() == 4 and m[1, 2] == 1 and np.trace(m) == 3
    with pytest.raises(ValueError):
        assign_labels(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError):
        assign_labels(np.zeros((2, 2)), [0, 10])
    with pytest.raises(ValueError):
        predict(np.zeros((2, 3)), [0, 1])
