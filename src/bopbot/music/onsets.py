"""librosa's onset envelope, tempo estimate and loudness, computed in NumPy.

`beats.music_beats` needs three of librosa's functions: `onset.onset_strength` (the spectral flux
of a 128-band mel spectrogram in decibels), `feature.tempo` (the autocorrelation tempogram's
likeliest period under a log-normal prior) and `feature.rms`. Importing them costs about 1.9 s of
one core in every process that tracks a song (`librosa.onset` imports `librosa.feature.spectral`,
scipy.signal and librosa's pitch trackers), twice what the tracking itself costs, and it ran
beside MediaPipe whenever `bopbot dance` had music (issue 25's profile). These are the same
computations, step for step (librosa 0.11: a centred STFT of a periodic Hann
window padded with zeros, Slaney's mel filters, `power_to_db` with its 80 dB floor, the flux at a
lag of one frame, the envelope padded to the STFT's frames; the tempogram over 8 s with its
linear-ramp padding, FFT autocorrelation and max-normalisation), held to librosa by
`tests/test_music.py` on click tracks and real songs. Two steps differ in precision, not in
substance: the STFT and the tempogram's FFTs run in single precision (scipy.fft; librosa's NumPy
FFTs compute in double), and `music_beats` computes the tempogram once for its two tempo
estimates. On a 3.7-minute song that took the envelope from 0.31 to 0.17 s and the tempogram
from two of 0.34 s to one of 0.11 s (best of 3, one process); on the 41 songs and videos with
sound in ../shared/data the beats, tempo and eight-count phase are the same to the bit as the
double-precision code's, the onset strength within 2e-6 of 1 (a one-off comparison with the commit
before, 2026-12-07). `tests/test_music.py` still holds the beats to librosa's exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

N_FFT = 2048
N_MELS = 128
#: `power_to_db`'s floor under the loudest band, and the smallest power it reads.
TOP_DB, AMIN = 80.0, 1e-10
#: The tempo estimate's autocorrelation window (s), prior width (octaves) and fastest tempo (bpm).
AC_SECONDS, STD_BPM, MAX_TEMPO = 8.0, 1.0, 320.0
#: Frames of a spectrum, tempogram or loudness computed at a time. Whole, a 3.7-minute song's
#: windowed frames, spectrum and power were 250 MB of fresh memory in every process that tracks a
#: song; in blocks they stay small, a third of the page faults and a fifth of `beats.music_beats`'s
#: CPU gone (0.98 to 0.80 s, median of 5 fresh processes each, alternated). The numbers are the
#: same to the bit: each frame's FFT and sums as before, the tempogram's mean adding its rows in
#: the same order, and the mel filters one product over every frame (BLAS orders its sums by the
#: matrices' shapes).
BLOCK = 256


def _hann(length: int) -> np.ndarray:
    """The periodic Hann window (scipy's `get_window("hann", length, fftbins=True)`)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


def _centred_frames(samples: np.ndarray, length: int, hop: int) -> np.ndarray:
    """(frames, length) windows every `hop` samples of `samples` padded with length / 2 zeros each side."""
    padded = np.pad(samples, length // 2)
    return sliding_window_view(padded, length)[::hop]


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    step, log_step = 200.0 / 3, math.log(6.4) / 27.0
    return np.where(hz >= 1000.0, 1000.0 / step + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step, hz / step)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    step, log_step = 200.0 / 3, math.log(6.4) / 27.0
    return np.where(mels >= 1000.0 / step, 1000.0 * np.exp(log_step * (mels - 1000.0 / step)), step * mels)


def mel_filters(rate: int, n_fft: int = N_FFT, bands: int = N_MELS) -> np.ndarray:
    """(bands, n_fft / 2 + 1) Slaney-normalised triangular filters from 0 Hz to Nyquist, float32."""
    frequencies = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(rate / 2.0), bands + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, frequencies)
    weights = np.zeros((bands, len(frequencies)), dtype=np.float32)
    for band in range(bands):
        rising, falling = -ramps[band] / widths[band], ramps[band + 2] / widths[band + 1]
        weights[band] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:bands + 2] - edges[:bands]))[:, None]
    return weights


def onset_strength(samples: np.ndarray, rate: int, hop: int) -> np.ndarray:
    """The onset envelope of mono float32 `samples`, one value per STFT frame, as
    `librosa.onset.onset_strength(y=samples, sr=rate, hop_length=hop)` gives it."""
    from scipy.fft import rfft

    samples = np.asarray(samples, dtype=np.float32)
    window, frames = _hann(N_FFT).astype(np.float32), _centred_frames(samples, N_FFT, hop)
    power = np.empty((len(frames), N_FFT // 2 + 1), dtype=np.float32)
    for start in range(0, len(frames), BLOCK):  # see BLOCK
        power[start:start + BLOCK] = np.abs(rfft(frames[start:start + BLOCK] * window, axis=1)) ** 2
    mel = (power @ mel_filters(rate).T).T  # (bands, frames): one product, whose sums BLAS orders by its shape
    decibels = 10.0 * np.log10(np.maximum(AMIN, mel))
    decibels = np.maximum(decibels, decibels.max() - TOP_DB)
    flux = np.maximum(0.0, decibels[:, 1:] - decibels[:, :-1]).mean(axis=0)
    return np.pad(flux, (1 + N_FFT // (2 * hop), 0))[:mel.shape[1]]


def tempo(envelope: np.ndarray, rate: int, hop: int, start_bpm: float = 120.0) -> float:
    """The tempo (bpm) of an onset envelope, as `librosa.feature.tempo(onset_envelope=envelope,
    sr=rate, hop_length=hop, start_bpm=start_bpm)` estimates it."""
    return tempo_of(tempogram(envelope, rate, hop), rate, hop, start_bpm)


def tempogram(envelope: np.ndarray, rate: int, hop: int) -> np.ndarray:
    """The mean over the envelope's frames of each one's normalised autocorrelation (lags of up to
    AC_SECONDS), from which `tempo_of` picks a tempo: the costly part of `tempo` (on a 3.7-minute
    song, two thirds of a second), the same whatever tempo it is centred on."""
    from scipy.fft import irfft, next_fast_len, rfft

    window = int(np.floor(AC_SECONDS * rate / hop))
    count = len(envelope)
    padded = np.pad(np.asarray(envelope, dtype=np.float32), window // 2, mode="linear_ramp", end_values=(0, 0))
    frames, taper = sliding_window_view(padded, window)[:count], _hann(window).astype(np.float32)
    size = next_fast_len(2 * window - 1, real=True)
    tiny = np.finfo(np.float32).tiny
    total = np.zeros((1, window), dtype=np.float32)
    for start in range(0, count, BLOCK):  # block by block: see BLOCK
        spectrum = rfft(frames[start:start + BLOCK] * taper, n=size, axis=1)
        autocorrelation = irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=size, axis=1)[:, :window]
        peak = np.abs(autocorrelation).max(axis=1, keepdims=True)
        normalised = np.where(peak < tiny, autocorrelation, autocorrelation / np.where(peak < tiny, 1.0, peak))
        total = np.add.reduce(np.concatenate([total, normalised]), axis=0, keepdims=True)  # row after row, as one mean adds them
    return total[0] / count


def tempo_of(tempogram: np.ndarray, rate: int, hop: int, start_bpm: float = 120.0) -> float:
    """The tempo (bpm) a `tempogram` shows, its prior centred on `start_bpm` (as librosa weighs it)."""
    window = len(tempogram)
    with np.errstate(divide="ignore"):
        bpms = np.concatenate([[np.inf], 60.0 * rate / (hop * np.arange(1.0, window))])
    prior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / STD_BPM) ** 2
    prior[:int(np.argmax(bpms < MAX_TEMPO))] = -np.inf
    return float(bpms[int(np.argmax(np.log1p(1e6 * tempogram) + prior))])


def rms(samples: np.ndarray, hop: int, length: int = N_FFT) -> np.ndarray:
    """The root mean square of each centred frame, as `librosa.feature.rms(y=samples, hop_length=hop)[0]`."""
    frames = _centred_frames(np.asarray(samples, dtype=np.float32), length, hop)
    return np.concatenate([np.sqrt(np.mean(np.abs(frames[start:start + BLOCK]) ** 2, axis=1, dtype=np.float32))
                           for start in range(0, len(frames), BLOCK)])  # never empty: padding makes one frame at least
