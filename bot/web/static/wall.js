// The story wall's share buttons: copy a story's link, or open the phone's own share
// sheet. No third-party script, nothing sent anywhere by us; without JavaScript the
// story's own link is still there to copy by hand.
"use strict";

function shareButtons(box) {
  const url = box.dataset.url;
  const title = box.dataset.title;
  const status = box.querySelector(".share-status");
  const copy = box.querySelector(".share-copy");
  const native = box.querySelector(".share-native");

  if (copy && navigator.clipboard && window.isSecureContext !== false) {
    copy.hidden = false;
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(url);
        if (status) status.textContent = box.dataset.copied || "";
      } catch (error) {
        // Refused (no permission): the link stays on the page to copy by hand.
        if (status) status.textContent = url;
      }
    });
  }
  if (native && typeof navigator.share === "function") {
    native.hidden = false;
    native.addEventListener("click", async () => {
      try {
        await navigator.share({ title, url });
      } catch (error) {
        // The person closed the share sheet: nothing to do.
      }
    });
  }
}

document.querySelectorAll(".share[data-url]").forEach(shareButtons);
