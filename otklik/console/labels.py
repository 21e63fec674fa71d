"""Russian names of the engine's codes, for display only (no rule here)."""

STATES = {
    "identified": "новое", "routed": "у исполнителя", "returned": "возвращено куратору", "drafting": "в работе",
    "on_approval": "на согласовании", "revision": "на доработке", "approved": "согласовано",
    "publishing": "публикуется", "published": "ответ опубликован", "final_due": "ждёт окончательного ответа",
    "awaiting_feedback": "ждёт отзыва", "accepted": "принято", "closed": "закрыто",
}
IMPORTANCE = {"normal": "обычная", "high": "высокая"}
DRAFT_STATUS = {"submitted": "на согласовании", "approved": "согласован", "returned": "возвращён на доработку"}
DRAFT_KINDS = {"answer": "ответ", "intermediate": "промежуточный ответ", "clarify": "уточняющий вопрос"}
STEPS = {
    "route_by": "маршрутизация", "take_by": "принятие в работу", "first_response_by": "первый ответ",
    "return_by": "возврат не по компетенции", "repeat_decision_by": "решение о повторности",
    "coexecutor_input_by": "вклад соисполнителей", "joint_draft_by": "сводный проект", "draft_by": "проект ответа",
    "approve_by": "согласование", "revise_by": "доработка", "publish_by": "публикация", "answer_by": "ответ жителю",
    "final_by_after_intermediate": "окончательный ответ", "feedback_until": "отзыв жителя",
}
ACTIONS = {
    "identified": "обращение выявлено", "route": "маршрутизировано", "return": "возвращено куратору",
    "submit_draft": "проект ответа направлен на согласование", "approve": "согласовано",
    "send_back": "возвращено на доработку", "publishing": "публикуется", "published": "ответ опубликован",
    "set_importance": "изменена важность", "set_location": "исправлено место",
    "request_extension": "запрошено продление", "refused": "отказано в доступе", "feedback": "отзыв жителя",
    "reply_address_set": "указан адрес эл. почты для ответа", "close": "закрыто",
    "set_term": "сокращён срок ответа", "set_final_term": "согласован окончательный срок",
    "set_responsible": "назначен ответственный исполнитель", "coexecutor_input": "предложения соисполнителя",
    "decide_repeat": "решено о повторности", "attachment_added": "приложен файл",
    "attachment_removed": "удалён файл",
}
